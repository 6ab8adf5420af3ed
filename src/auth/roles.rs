//! The roles a token may carry, as named in the API contract.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role this service honours. Role names in tokens that are not listed here are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The Virtual School Head and admin team: everything, including audit and budgets.
    VsAdmin,
    /// Virtual School Officer: all children, PP+ requests, PEP quality reviews.
    Vso,
    /// A social worker: only the children allocated to them.
    SocialWorker,
    /// An SEN caseworker: only children with an EHCP allocated to them.
    SenCaseworker,
    /// The council's case system: LAC status batches only.
    Lcs,
    /// The ePEP provider: pushes PEPs and looks children up to match them.
    Epep,
    /// Dashboards: aggregate reports only.
    Dashboard,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 7] =
        [Role::VsAdmin, Role::Vso, Role::SocialWorker, Role::SenCaseworker, Role::Lcs, Role::Epep, Role::Dashboard];

    /// The role's name in tokens and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::VsAdmin => "vs_admin",
            Role::Vso => "vso",
            Role::SocialWorker => "social_worker",
            Role::SenCaseworker => "sen_caseworker",
            Role::Lcs => "lcs",
            Role::Epep => "epep",
            Role::Dashboard => "dashboard",
        }
    }

    /// The role with this exact name, if it is one of ours.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert_eq!(Role::parse("VS_ADMIN"), None);
        assert_eq!(Role::parse("teacher"), None);
    }
}
