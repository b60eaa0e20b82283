//! Credentials in the files lint reads. A literal credential is masked in the sources before
//! any report renders (no snippet, JSON or SARIF shows it) and reported without its text; a
//! reference that cannot resolve — a config provider the file does not declare, or any
//! `${…}` in Flink's configuration, which resolves none — is an error, because the client or
//! Flink would use the reference's text as the credential.

use crate::diag::{Diagnostic, Severity, Sources, Span};
use crate::lint::read::{Kv, Piece};
use crate::profile::{embedded_credentials, is_reference_only, is_secret_key};
use crate::resolve::kafka::provider_references;

/// One setting as the screen sees it: key (SQL's `properties.` prefix removed), value, and
/// the value's span.
struct Setting<'a> {
    key: &'a str,
    value: &'a str,
    span: Span,
}

impl<'a> Setting<'a> {
    fn of(kv: &'a Kv) -> Self {
        Setting {
            key: &kv.key,
            value: &kv.value,
            span: kv.value_span,
        }
    }
}

/// Mask every literal credential of `pieces` in `sources` and report it; report references
/// that will not resolve.
pub fn screen(pieces: &[Piece], sources: &mut Sources) -> Vec<Diagnostic> {
    let mut out = vec![];
    for piece in pieces {
        match piece {
            Piece::Flink { settings, .. } => {
                for s in settings.iter().map(Setting::of) {
                    if is_secret_key(s.key) && s.value.contains("${") {
                        out.push(flink_reference(&s));
                    } else {
                        literal(&s, FLINK_HELP, sources, &mut out);
                    }
                }
            }
            Piece::Client { props, .. } | Piece::SinkSettings { props, .. } => {
                let settings: Vec<Setting> = props.iter().map(Setting::of).collect();
                kafka(&settings, sources, &mut out);
            }
            Piece::Broker { settings, .. } | Piece::Topic { settings, .. } => {
                let settings: Vec<Setting> = settings.iter().map(Setting::of).collect();
                kafka(&settings, sources, &mut out);
            }
            Piece::Tables { tables, .. } => {
                for t in tables {
                    // A Kafka table passes `properties.*` to its client.
                    let settings: Vec<Setting> = t
                        .options
                        .iter()
                        .filter_map(|o| {
                            Some(Setting {
                                key: o.key.strip_prefix("properties.")?,
                                value: &o.value,
                                span: o.value_span,
                            })
                        })
                        .collect();
                    kafka(&settings, sources, &mut out);
                }
            }
            Piece::Deployment { .. } | Piece::Image { .. } => {}
        }
    }
    // Every literal is masked; the first hundred are reported one by one.
    let literals = out
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if literals > crate::diag::ERRORS_PER_UNIT {
        let mut kept = 0;
        let mut first_cut = None;
        out.retain(|d| {
            if d.severity != Severity::Warning {
                return true;
            }
            kept += 1;
            if kept == crate::diag::ERRORS_PER_UNIT + 1 {
                first_cut = d.labels.first().map(|l| l.span);
            }
            kept <= crate::diag::ERRORS_PER_UNIT
        });
        if let Some(span) = first_cut {
            out.push(Diagnostic {
                severity: Severity::Warning,
                ..Diagnostic::error(format!(
                    "{} more literal credentials are masked and not listed",
                    literals - crate::diag::ERRORS_PER_UNIT
                ))
                .with_label(span, "the next one")
                .with_help(KAFKA_HELP)
            });
        }
    }
    out
}

/// Mask, in the text of file `id`, every value that follows a credential-like key and `=` or
/// `:` — whatever the file's grammar made of the line: a commented-out setting, a JVM option
/// (`-Djavax.net.ssl.keyStorePassword=…`), a line Flink's parser skips. Only masks (findings
/// come from [`screen`]); masking too much in a report is harmless, too little is not.
pub fn mask_text(sources: &mut Sources, id: u32) {
    let spans: Vec<Span> = embedded_credentials(&sources.get(id).text)
        .into_iter()
        .map(|r| Span::new(id, r.start, r.len()))
        .collect();
    for span in spans {
        sources.redact(span);
    }
}

/// The settings of one Kafka client, broker or topic: literals masked; each reference's
/// provider declared in the same settings' `config.providers`.
fn kafka(settings: &[Setting], sources: &mut Sources, out: &mut Vec<Diagnostic>) {
    let declared: Vec<&str> = settings
        .iter()
        .find(|s| s.key == "config.providers")
        .map(|s| s.value.split(',').map(str::trim).collect())
        .unwrap_or_default();
    for s in settings {
        literal(s, KAFKA_HELP, sources, out);
        for (provider, _) in provider_references(s.value) {
            if !declared.contains(&provider) {
                out.push(
                    Diagnostic::error(format!(
                        "`{}` references config provider `{provider}`, which `config.providers` does not declare: the client takes the reference's text as the value",
                        s.key
                    ))
                    .with_label(s.span, "not resolved")
                    .with_help(format!(
                        "declare it next to this setting: `config.providers={provider}` and `config.providers.{provider}.class=…` (EnvVarConfigProvider, DirectoryConfigProvider or FileConfigProvider)"
                    )),
                );
            }
        }
    }
}

/// A literal credential: mask it and say so, without its text.
fn literal(s: &Setting, help: &str, sources: &mut Sources, out: &mut Vec<Diagnostic>) {
    let value = s.value.trim();
    if !is_secret_key(s.key) || value.is_empty() || is_reference_only(value) {
        return;
    }
    sources.redact(s.span);
    out.push(Diagnostic {
        severity: Severity::Warning,
        ..Diagnostic::error(format!(
            "`{}` holds a literal credential (masked in this report)",
            s.key
        ))
        .with_label(s.span, "a literal credential (not shown)")
        .with_help(help)
    });
}

fn flink_reference(s: &Setting) -> Diagnostic {
    Diagnostic::error(format!(
        "Flink does not resolve config-provider references: `{}` would hold the reference's text, not the credential",
        s.key
    ))
    .with_label(s.span, "not resolved by Flink")
    .with_help(FLINK_HELP)
}

const FLINK_HELP: &str = "give the Flink pods a cloud identity instead of a key (an IAM role on EKS, a managed identity on AKS, a service account on GKE)";
const KAFKA_HELP: &str = "keep credentials out of configuration files: reference a Kubernetes Secret (`${dir:/path/of/the/mounted/secret:key}`) or an environment variable (`${env:VAR}`, kafka-clients 3.5+) through Kafka's config providers";
