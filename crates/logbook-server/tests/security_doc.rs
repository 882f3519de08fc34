//! SECURITY.md names a test for every threat it lists; this keeps those names true as
//! the code moves: each named file exists and defines each named function.

use std::path::Path;

#[test]
fn every_threat_names_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("SECURITY.md")).expect("SECURITY.md at the root");
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() >= 10, "the threat table has {} rows", rows.len());
    for row in rows {
        let references: Vec<&str> = row
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|r| r.starts_with("crates/") && r.contains(".rs"))
            .collect();
        assert!(!references.is_empty(), "no test named for: {row}");
        for reference in references {
            let (file, function) = match reference.split_once(".rs") {
                Some((path, rest)) => {
                    (format!("{path}.rs"), rest.rsplit("::").next().unwrap_or(""))
                }
                None => unreachable!(),
            };
            let source = std::fs::read_to_string(root.join(&file))
                .unwrap_or_else(|_| panic!("{file} is named but missing"));
            if !function.is_empty() {
                assert!(
                    source.contains(&format!("fn {function}(")),
                    "{file} has no fn {function}"
                );
            }
        }
    }
}
