//! Word pools per language and the small generators that combine them.

use domain::Address;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;

/// A city with its postal-code prefix and region.
pub(crate) struct City {
    pub(crate) name: &'static str,
    pub(crate) postal: &'static str,
    pub(crate) region: &'static str,
}

/// Everything needed to make up clients of one country.
pub(crate) struct Language {
    pub(crate) country: &'static str,
    pub(crate) tld: &'static str,
    pub(crate) first_names: &'static [&'static str],
    pub(crate) last_names: &'static [&'static str],
    pub(crate) company_words: &'static [&'static str],
    pub(crate) company_kinds: &'static [&'static str],
    pub(crate) legal_forms: &'static [&'static str],
    pub(crate) cities: &'static [City],
    pub(crate) streets: &'static [&'static str],
    pub(crate) street_word: &'static str,
    pub(crate) unit_words: &'static [&'static str],
    pub(crate) banks: &'static [&'static str],
    pub(crate) bank_codes: &'static [&'static str],
    pub(crate) comments: &'static [&'static str],
    pub(crate) phone_prefix: &'static str,
}

pub(crate) const GROUPS: [&str; 8] = [
    "Restorānu ķēdes",
    "Key accounts",
    "Großkunden",
    "Viesnīcas",
    "Bäckereien",
    "Public sector",
    "Kauplused",
    "Sporto klubai",
];

pub(crate) const INDUSTRIES: &[&str] = &[
    "Restaurants",
    "Hotels",
    "Bakery",
    "Food retail",
    "Office",
    "Manufacturing",
    "Logistics",
    "Healthcare",
    "Education",
    "Fitness",
];

pub(crate) const ROLES: &[&str] =
    &["Manager", "Chef", "Accountant", "Owner", "Facility manager", "Head of kitchen"];

pub(crate) const LANGUAGES: [Language; 4] = [
    Language {
        country: "LV",
        tld: "lv",
        first_names: &[
            "Jānis",
            "Anna",
            "Kristaps",
            "Līga",
            "Mārtiņš",
            "Ilze",
            "Edgars",
            "Dace",
            "Ņikita",
            "Zane",
            "Ģirts",
            "Inese",
        ],
        last_names: &[
            "Bērziņš",
            "Kalniņa",
            "Ozoliņš",
            "Liepa",
            "Krūmiņš",
            "Zariņa",
            "Kļaviņš",
            "Jansone",
            "Pētersons",
            "Āboliņa",
            "Vītols",
            "Šmite",
        ],
        company_words: &[
            "Ķiploks",
            "Saulīte",
            "Dzintars",
            "Ēdnīca",
            "Gardums",
            "Lāči",
            "Pūre",
            "Mājas Garša",
            "Rūķis",
            "Zvaigzne",
            "Jūras Vējš",
            "Ābeles",
        ],
        company_kinds: &["Restorāns", "Kafejnīca", "Maiznīca", "Serviss", "Būve", "Tirdzniecība"],
        legal_forms: &["SIA", "AS", "IK"],
        cities: &[
            City { name: "Rīga", postal: "LV-10", region: "Rīga" },
            City { name: "Jūrmala", postal: "LV-20", region: "Jūrmala" },
            City { name: "Liepāja", postal: "LV-34", region: "Kurzeme" },
            City { name: "Daugavpils", postal: "LV-54", region: "Latgale" },
            City { name: "Cēsis", postal: "LV-41", region: "Vidzeme" },
            City { name: "Ventspils", postal: "LV-36", region: "Kurzeme" },
            City { name: "Jelgava", postal: "LV-30", region: "Zemgale" },
            City { name: "Valmiera", postal: "LV-42", region: "Vidzeme" },
        ],
        streets: &[
            "Brīvības",
            "Krišjāņa Valdemāra",
            "Tērbatas",
            "Dzirnavu",
            "Lāčplēša",
            "Ģertrūdes",
            "Miera",
            "Jūras",
        ],
        street_word: "iela",
        unit_words: &["Filiāle", "Restorāns", "Noliktava", "Birojs", "Veikals", "Virtuve"],
        banks: &["Swedbank", "SEB banka", "Citadele", "Luminor"],
        bank_codes: &["HABA", "UNLA", "PARX", "RIKO"],
        comments: &[
            "Atslēgas pie administratora.",
            "Piegādes tikai līdz 10:00.",
            "Rēķinus sūtīt grāmatvedei.",
        ],
        phone_prefix: "+371 2",
    },
    Language {
        country: "DE",
        tld: "de",
        first_names: &[
            "Jürgen",
            "Anna",
            "Lukas",
            "Jörg",
            "Sabine",
            "Günther",
            "Maximilian",
            "Uwe",
            "Käthe",
            "Björn",
            "Lena",
            "Sören",
        ],
        last_names: &[
            "Müller",
            "Schröder",
            "Weiß",
            "Groß",
            "Böhm",
            "Schäfer",
            "Krüger",
            "Fuß",
            "Köhler",
            "Maier",
            "Hoffmann",
            "Strauß",
        ],
        company_words: &[
            "Großküchen",
            "Bäckerei Süß",
            "Gaststätte Löwen",
            "Kühltechnik",
            "Brötchen",
            "Fleischerei Weißkopf",
            "Gärtnerei",
            "Müllerhof",
        ],
        company_kinds: &["Gastronomie", "Service", "Technik", "Handel"],
        legal_forms: &["GmbH", "GmbH & Co. KG", "AG", "e.K."],
        cities: &[
            City { name: "München", postal: "80", region: "Bayern" },
            City { name: "Köln", postal: "50", region: "Nordrhein-Westfalen" },
            City { name: "Düsseldorf", postal: "40", region: "Nordrhein-Westfalen" },
            City { name: "Nürnberg", postal: "90", region: "Bayern" },
            City { name: "Lübeck", postal: "23", region: "Schleswig-Holstein" },
            City { name: "Görlitz", postal: "02", region: "Sachsen" },
            City { name: "Berlin", postal: "10", region: "Berlin" },
        ],
        streets: &[
            "Hauptstraße",
            "Schloßstraße",
            "Bahnhofstraße",
            "Müllerstraße",
            "Königsallee",
            "Lindenstraße",
            "Gärtnerweg",
        ],
        street_word: "",
        unit_words: &["Filiale", "Küche", "Lager", "Büro", "Markt", "Standort"],
        banks: &["Sparkasse", "Deutsche Bank", "Commerzbank", "Volksbank"],
        bank_codes: &["37040044", "50010517", "70150000", "10010010"],
        comments: &[
            "Lieferung nur über den Hof.",
            "Schlüssel beim Hausmeister.",
            "Rechnungen per Post.",
        ],
        phone_prefix: "+49 1",
    },
    Language {
        country: "EE",
        tld: "ee",
        first_names: &[
            "Mart", "Kädi", "Tõnu", "Ülle", "Jüri", "Mari", "Andres", "Küllike", "Siim", "Pärtel",
            "Liis", "Õie",
        ],
        last_names: &[
            "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Pärn", "Kõiv", "Rätsep", "Ilves", "Lõhmus",
            "Kütt", "Jõgi",
        ],
        company_words: &[
            "Ääsmäe Pagar",
            "Päikese",
            "Kõrts",
            "Sõbra",
            "Järve",
            "Metsa Söök",
            "Rannahoone",
            "Pärnu Kohvik",
        ],
        company_kinds: &["Toitlustus", "Teenindus", "Kaubandus"],
        legal_forms: &["OÜ", "AS", "MTÜ"],
        cities: &[
            City { name: "Tallinn", postal: "10", region: "Harjumaa" },
            City { name: "Tartu", postal: "50", region: "Tartumaa" },
            City { name: "Pärnu", postal: "80", region: "Pärnumaa" },
            City { name: "Võru", postal: "65", region: "Võrumaa" },
            City { name: "Jõhvi", postal: "41", region: "Ida-Virumaa" },
        ],
        streets: &["Pärnu mnt", "Tartu mnt", "Narva mnt", "Rüütli", "Jõe", "Mäe", "Võidu"],
        street_word: "",
        unit_words: &["Filiaal", "Köök", "Ladu", "Kontor", "Kauplus"],
        banks: &["Swedbank", "SEB", "LHV", "Coop Pank"],
        bank_codes: &["22", "10", "77", "42"],
        comments: &["Võtmed administraatori käest.", "Tarned ainult hommikul."],
        phone_prefix: "+372 5",
    },
    Language {
        country: "LT",
        tld: "lt",
        first_names: &[
            "Jonas",
            "Rūta",
            "Mantas",
            "Žydrūnė",
            "Giedrius",
            "Eglė",
            "Šarūnas",
            "Aušra",
            "Tomas",
            "Dalia",
            "Vytautas",
            "Ieva",
        ],
        last_names: &[
            "Kazlauskas",
            "Jankauskienė",
            "Petrauskas",
            "Žukauskas",
            "Šimkus",
            "Grąžtas",
            "Stankevičius",
            "Vasiliauskas",
            "Butkus",
            "Paulauskienė",
        ],
        company_words: &[
            "Šilas",
            "Žalgiris",
            "Ąžuolas",
            "Gintaras",
            "Senoji Kepyklėlė",
            "Čiurlionis",
            "Vėjas",
            "Skonis",
        ],
        company_kinds: &["Maitinimas", "Servisas", "Prekyba"],
        legal_forms: &["UAB", "AB", "MB"],
        cities: &[
            City { name: "Vilnius", postal: "LT-01", region: "Vilniaus apskritis" },
            City { name: "Kaunas", postal: "LT-44", region: "Kauno apskritis" },
            City { name: "Klaipėda", postal: "LT-91", region: "Klaipėdos apskritis" },
            City { name: "Šiauliai", postal: "LT-76", region: "Šiaulių apskritis" },
            City { name: "Panevėžys", postal: "LT-35", region: "Panevėžio apskritis" },
        ],
        streets: &[
            "Gedimino pr.",
            "Laisvės al.",
            "Vilniaus g.",
            "Žalgirio g.",
            "Šeimyniškių g.",
            "Ąžuolyno g.",
        ],
        street_word: "",
        unit_words: &["Filialas", "Virtuvė", "Sandėlis", "Biuras", "Parduotuvė"],
        banks: &["Swedbank", "SEB", "Luminor", "Šiaulių bankas"],
        bank_codes: &["73000", "70440", "40100", "71800"],
        comments: &["Raktai pas administratorių.", "Pristatymas tik rytais."],
        phone_prefix: "+370 6",
    },
];

impl Language {
    /// A company name and the word its made-up web domain is built from.
    pub(crate) fn company_name(&self, rng: &mut ChaCha8Rng) -> (String, String) {
        let word = pick(rng, self.company_words);
        let form = pick(rng, self.legal_forms);
        match rng.random_range(0..3) {
            0 => (format!("{form} \"{word}\""), ascii_slug(word)),
            1 => (format!("{word} {} {form}", pick(rng, self.company_kinds)), ascii_slug(word)),
            _ => {
                let last_name = pick(rng, self.last_names);
                (format!("{last_name} {form}"), ascii_slug(last_name))
            }
        }
    }

    pub(crate) fn reg_no(&self, rng: &mut ChaCha8Rng) -> String {
        match self.country {
            "LV" => format!("4000{:07}", rng.random_range(0..10_000_000)),
            "DE" => format!("HRB {}", rng.random_range(1000..200_000)),
            "EE" => format!("1{:07}", rng.random_range(0..10_000_000)),
            _ => format!("30{:07}", rng.random_range(0..10_000_000)),
        }
    }

    pub(crate) fn personal_code(&self, rng: &mut ChaCha8Rng) -> String {
        let day = rng.random_range(1..=28);
        let month = rng.random_range(1..=12);
        let year = rng.random_range(50..=99);
        match self.country {
            "LV" => format!("{day:02}{month:02}{year:02}-{:05}", rng.random_range(10_000..100_000)),
            "EE" | "LT" => {
                format!("3{year:02}{month:02}{day:02}{:04}", rng.random_range(0..10_000))
            }
            _ => format!("{day:02}.{month:02}.19{year:02}"),
        }
    }

    pub(crate) fn phone(&self, rng: &mut ChaCha8Rng) -> String {
        format!(
            "{}{:03} {:04}",
            self.phone_prefix,
            rng.random_range(0..1000),
            rng.random_range(0..10_000)
        )
    }

    pub(crate) fn address(&self, rng: &mut ChaCha8Rng, city: &City) -> Address {
        let street = pick(rng, self.streets);
        let number = rng.random_range(1..180);
        let street = if self.street_word.is_empty() {
            format!("{street} {number}")
        } else {
            format!("{street} {} {number}", self.street_word)
        };
        Address {
            street,
            city: city.name.to_owned(),
            postal_code: format!("{}{:03}", city.postal, rng.random_range(0..1000)),
            region: city.region.to_owned(),
            country: self.country.to_owned(),
        }
    }

    pub(crate) fn unit_name(&self, rng: &mut ChaCha8Rng, index: usize, city: &City) -> String {
        let word = pick(rng, self.unit_words);
        if index == 0 {
            format!("{word} {}", city.name)
        } else {
            format!("{word} {} Nr. {}", city.name, index + 1)
        }
    }

    /// A syntactically valid IBAN of this country (check digits computed per ISO 13616).
    pub(crate) fn iban(&self, rng: &mut ChaCha8Rng) -> String {
        let bank = pick(rng, self.bank_codes);
        let bban = match self.country {
            "LV" => format!("{bank}{:013}", rng.random_range(0..10_000_000_000_000_u64)),
            "DE" => format!("{bank}{:010}", rng.random_range(0..10_000_000_000_u64)),
            "EE" => format!("{bank}{:014}", rng.random_range(0..100_000_000_000_000_u64)),
            _ => format!("{bank}{:011}", rng.random_range(0..100_000_000_000_u64)),
        };
        let check = 98 - mod97(&format!("{bban}{}00", self.country));
        format!("{}{check:02}{bban}", self.country)
    }
}

/// The ISO 7064 MOD 97-10 remainder of an alphanumeric string (letters as 10–35).
fn mod97(text: &str) -> u32 {
    text.chars().fold(0, |remainder, c| {
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 }
    })
}

/// Lower-case ASCII of a name, for made-up e-mail addresses and web domains.
pub(crate) fn ascii_slug(text: &str) -> String {
    domain::fold_for_search(text).chars().filter(char::is_ascii_alphanumeric).collect()
}

pub(crate) fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    // Every pool is a non-empty constant, so `choose` always returns an item.
    items.choose(rng).unwrap_or(&items[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_ibans_pass_validation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for language in &LANGUAGES {
            for _ in 0..50 {
                let iban = language.iban(&mut rng);
                assert!(domain::normalize_iban(&iban).is_ok(), "{iban}");
            }
        }
    }
}
