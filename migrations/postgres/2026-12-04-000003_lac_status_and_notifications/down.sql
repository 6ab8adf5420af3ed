DROP TABLE notifications;
DROP TABLE lac_status_changes;
DROP TABLE lac_status_batches;
