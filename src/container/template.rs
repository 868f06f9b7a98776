//! `inspect --format`: the part of Go's text/template people use with Docker —
//! `{{.State.Pid}}`, `{{.NetworkSettings.IPAddress}}`, `{{json .Config.Env}}` — over the
//! JSON document `inspect` prints. Values print as Go prints them (`[a b]`, `map[k:v]`).

use anyhow::{bail, Context};
use serde_json::Value;

pub fn render(template: &str, doc: &Value) -> crate::Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .with_context(|| format!("template {template:?}: an action is not closed with }}}}"))?;
        let action = rest[start + 2..start + end].trim();
        out.push_str(&action_value(action, doc).with_context(|| format!("template {template:?}"))?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn action_value(action: &str, doc: &Value) -> crate::Result<String> {
    let (func, path) = match action.split_once(char::is_whitespace) {
        Some((f, p)) if !f.starts_with('.') => (Some(f), p.trim()),
        _ => (None, action),
    };
    let value = lookup(path, doc)?;
    match func {
        None => Ok(go_format(value)),
        Some("json") => Ok(serde_json::to_string(value)?),
        Some(f) => bail!("function {f:?} is not supported (only json)"),
    }
}

fn lookup<'a>(path: &str, doc: &'a Value) -> crate::Result<&'a Value> {
    let path = path
        .strip_prefix('.')
        .with_context(|| format!("{path:?} is not a field path like .State.Pid"))?;
    let mut v = doc;
    for field in path.split('.').filter(|f| !f.is_empty()) {
        v = match v {
            Value::Object(m) => m.get(field).with_context(|| format!("no field {field:?}"))?,
            _ => bail!("{field:?}: not an object"),
        };
    }
    Ok(v)
}

/// How Go's fmt prints a decoded JSON value.
fn go_format(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_format).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter().map(|(k, v)| format!("{k}:{}", go_format(v))).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::json;

    #[test]
    fn docker_style_templates() {
        let d = json!({"State": {"Pid": 42, "Running": true}, "Config": {"Env": ["A=1", "B=2"]}, "Name": "/web"});
        assert_eq!(render("{{.State.Pid}}", &d).unwrap(), "42");
        assert_eq!(
            render("pid={{ .State.Pid }} up={{.State.Running}}", &d).unwrap(),
            "pid=42 up=true"
        );
        assert_eq!(render("{{.Config.Env}}", &d).unwrap(), "[A=1 B=2]");
        assert_eq!(render("{{json .Config.Env}}", &d).unwrap(), r#"["A=1","B=2"]"#);
        assert!(render("{{.Nope}}", &d).is_err());
        assert!(render("{{.State.Pid", &d).is_err());
    }
}
