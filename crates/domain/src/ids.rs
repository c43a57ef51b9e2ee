//! Identifiers of the client aggregate. Each is a UUID newtype so that a unit id
//! can never be passed where a client id is expected. [`crate::uuid_id!`] makes such a
//! type; other crates (billing) make theirs with it.

/// A string that is not a UUID where an identifier was expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{value}' is not a {kind} id (expected a UUID such as 0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e)"
)]
pub struct BadId {
    /// What kind of id was expected.
    pub kind: &'static str,
    /// What was given.
    pub value: String,
}

/// Declares a UUID newtype: `Display`/`FromStr` in hyphenated form (a bad
/// string is a [`BadId`] naming the kind), serde as a plain string, `short()`
/// for what tables show. The crate that uses it needs `uuid` and `serde` as
/// dependencies of its own (the derives name them).
#[macro_export]
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A fresh random (version 4) id.
            pub fn random() -> Self {
                Self(::uuid::Uuid::new_v4())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: ::uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// Builds the id from 16 bytes, e.g. drawn from a seeded generator.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(::uuid::Uuid::from_bytes(bytes))
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> &::uuid::Uuid {
                &self.0
            }

            /// The first eight hex digits: what tables show and what users type.
            pub fn short(&self) -> String {
                let mut buffer = ::uuid::Uuid::encode_buffer();
                self.0.simple().encode_lower(&mut buffer)[..8].to_owned()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::BadId;

            fn from_str(value: &str) -> ::std::result::Result<Self, $crate::BadId> {
                ::uuid::Uuid::parse_str(value.trim())
                    .map(Self)
                    .map_err(|_| $crate::BadId { kind: $kind, value: value.to_owned() })
            }
        }
    };
}

crate::uuid_id!(
    /// A client (company or person). Also the id of the client's Automerge document.
    ClientId,
    "client"
);
crate::uuid_id!(
    /// A structural unit of a client: a site, branch or object.
    UnitId,
    "unit"
);
crate::uuid_id!(
    /// A client group.
    GroupId,
    "group"
);
crate::uuid_id!(
    /// An entry of a list inside a client: a contact person, phone, e-mail, web address or bank account.
    EntryId,
    "entry"
);

crate::uuid_id!(
    /// A visit of a technician at a client's unit.
    VisitId,
    "visit"
);
crate::uuid_id!(
    /// A photo or file in a client's gallery.
    GalleryItemId,
    "gallery item"
);
crate::uuid_id!(
    /// A document of a client (contract, offer, letter).
    ClientDocumentId,
    "document"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_display_and_from_str() {
        let id = ClientId::random();
        assert_eq!(id.to_string().parse::<ClientId>(), Ok(id));
        assert_eq!(id.short().len(), 8);
        assert!(id.to_string().replace('-', "").starts_with(&id.short()));
    }

    #[test]
    fn a_bad_id_says_what_was_expected() {
        let error = "nope".parse::<UnitId>().unwrap_err();
        assert!(error.to_string().contains("not a unit id"), "{error}");
    }
}
