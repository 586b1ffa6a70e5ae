use super::*;
use std::time::Duration;

fn import(kind: Kind, subject: &str, to: Option<&str>, prefix: Option<&str>) -> Import {
    Import {
        kind,
        account: "A".into(),
        subject: subject.into(),
        to: to.map(str::to_string),
        prefix: prefix.map(str::to_string),
        pos: String::new(),
    }
}

#[test]
fn imports_render_like_the_reference() {
    let v = serde_json::to_value(ext_import(&import(Kind::Stream, "s.>", None, None)))
        .unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!({"subject":"s.>","account":"A","local_subject":"s.>","type":"stream",
            "invalid":false,"share":false,"tracking":false})
    );
    let p = ext_import(&import(Kind::Stream, "s.x", None, Some("pre")));
    assert_eq!(p.local_subject, "pre.s.x");
    let v = serde_json::to_value(ext_import(&import(
        Kind::Service,
        "svc.>",
        Some("asvc.>"),
        None,
    )))
    .unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!({"subject":"svc.>","account":"A","to":"asvc.>","local_subject":"asvc.>",
            "type":"service","invalid":false,"share":false,"tracking":false})
    );
}

#[test]
fn exports_render_like_the_reference() {
    let x = |kind, accounts: Option<Vec<String>>| Export {
        kind,
        subject: "x.>".into(),
        accounts,
        account_pos: 0,
        response: ResponseType::Singleton,
        threshold: Duration::from_secs(1),
    };
    assert_eq!(
        serde_json::to_value(ext_export(&x(Kind::Service, None))).unwrap_or_default(),
        serde_json::json!({"subject":"x.>","type":"service","response_type":"Singleton"})
    );
    assert_eq!(
        serde_json::to_value(ext_export(&x(Kind::Stream, Some(vec!["B".into()]))))
            .unwrap_or_default(),
        serde_json::json!({"subject":"x.>","type":"stream","approved_accounts":["B"]})
    );
}

#[test]
fn options_from_query_and_json() {
    let o = AccountStatzOptions::from_query(&Query::parse(Some("unused=1&acc=A,B")))
        .unwrap_or_default();
    assert!(o.include_unused);
    assert_eq!(o.accounts, vec!["A".to_string(), "B".to_string()]);
    let j: AccountStatzOptions =
        serde_json::from_str(r#"{"accounts":["A"],"include_unused":true}"#).unwrap_or_default();
    assert_eq!(j.accounts, vec!["A".to_string()]);
    assert!(j.include_unused);
    let a: AccountzOptions = serde_json::from_str(r#"{"account":"A"}"#).unwrap_or_default();
    assert_eq!(a.account, "A");
    let q = AccountzOptions::from_query(&Query::parse(Some("acc=B"))).unwrap_or_default();
    assert_eq!(q.account, "B");
}
