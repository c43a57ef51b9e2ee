//! The shipped templates: compiled into the binary, each parsed once per
//! process on first use (a dunning run renders thousands of letters).

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use crate::error::{DocsError, Result};

/// Every template by name; the `.css` files are included by the pages.
const TEMPLATES: [(&str, &str); 8] = [
    ("letter.css", include_str!("../templates/letter.css")),
    ("letter.de.html", include_str!("../templates/letter.de.html")),
    ("letter.en.html", include_str!("../templates/letter.en.html")),
    ("letter.lv.html", include_str!("../templates/letter.lv.html")),
    ("invoice.css", include_str!("../templates/invoice.css")),
    ("invoice.de.html", include_str!("../templates/invoice.de.html")),
    ("invoice.en.html", include_str!("../templates/invoice.en.html")),
    ("invoice.lv.html", include_str!("../templates/invoice.lv.html")),
];

/// Renders the template `name` (auto-escaped as HTML) with `context`.
pub(crate) fn render(name: &str, context: impl Serialize) -> Result<String> {
    let failed = |source| DocsError::Template { template: name.to_owned(), source };
    environment().get_template(name).map_err(failed)?.render(context).map_err(failed)
}

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        environment.set_loader(|name| {
            Ok(TEMPLATES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        environment
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            assert!(super::environment().get_template(name).is_ok(), "{name}");
        }
    }
}
