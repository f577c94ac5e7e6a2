crate::string_enum!(
    /// Admin roles, each including the rights of the ones before it. A `metrics` key only
    /// reads the metrics (a scraper's key).
    Role { Metrics = "metrics", Support = "support", Admin = "admin", Superadmin = "superadmin" }
);

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Metrics => 0,
            Role::Support => 1,
            Role::Admin => 2,
            Role::Superadmin => 3,
        }
    }
    /// Whether this role has at least the rights of `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::Role;
    #[test]
    fn roles_are_ordered() {
        assert!(Role::Superadmin.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::Support));
        assert!(!Role::Support.allows(Role::Admin));
        assert!(!Role::Admin.allows(Role::Superadmin));
        assert!(Role::Support.allows(Role::Metrics));
        assert!(!Role::Metrics.allows(Role::Support));
    }
}
