//! Folding text for sorting and searching across languages.
//!
//! Kartoteka's users write Latvian, German, Estonian, Lithuanian and English names
//! in one catalog. Byte order would put "Ābele" after "Zariņš"; folding with
//! `deunicode` maps ā → a, ß → ss, ņ → n, ü → u (and Cyrillic to Latin) so that
//! sorting and prefix search treat these letters as their base letters. The folded
//! key is stored in the mirror, so plain SQLite (and the `sqlite3` shell) can sort
//! and search without a custom collation.

/// The key a name is sorted by: folded, lower case, with whitespace collapsed.
pub fn sort_key(text: &str) -> String {
    fold_for_search(text)
}

/// Text as it is indexed and queried: folded to ASCII, lower case, whitespace collapsed.
pub fn fold_for_search(text: &str) -> String {
    let folded = deunicode::deunicode_with_tofu(text, " ");
    folded.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diacritics_and_sharp_s_fold_to_base_letters() {
        assert_eq!(fold_for_search("Bērziņš"), "berzins");
        assert_eq!(fold_for_search("Müller  Straße"), "muller strasse");
        assert_eq!(fold_for_search("Ämari"), "amari");
        assert_eq!(fold_for_search("Šiauliai"), "siauliai");
    }

    #[test]
    fn sort_keys_order_accented_names_among_their_base_letters() {
        let mut names = vec!["Zariņš", "Ābele", "Apinis", "Özdemir", "Ozols", "Šmits", "Siliņa"];
        names.sort_by_key(|name| sort_key(name));
        assert_eq!(names, vec!["Ābele", "Apinis", "Özdemir", "Ozols", "Siliņa", "Šmits", "Zariņš"]);
    }
}
