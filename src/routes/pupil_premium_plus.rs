//! Pupil Premium Plus over HTTP: `/api/v1/pupil-premium-plus/...`.
