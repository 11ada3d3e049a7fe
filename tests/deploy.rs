//! The deployment: the Helm chart (`helm lint --strict`, `helm template` for the default values
//! and the examples, bad values refused by its schema), the container image's runtime libraries
//! against what the binary links, and the rendered manifests run as local processes against a
//! real broker, scraped by a real Prometheus that evaluates the chart's alert rules and the
//! dashboard's queries. helm comes from `scripts/setup-helm.sh` (npm), Prometheus and promtool
//! from `scripts/setup-prometheus.sh` (Debian).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::procs::*;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    root().join("helm/seisreduce")
}

fn helm(args: &[&str]) -> std::process::Output {
    let helm = root().join(".tools/helm/helm");
    assert!(
        helm.exists(),
        "{}: run scripts/setup-helm.sh",
        helm.display()
    );
    Command::new(helm)
        .args(args)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("seisreduce-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("seisreduce-helm-config"),
        )
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(chart().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn chart_lints_and_renders_for_the_defaults_and_every_example() {
    let c = chart();
    let c = c.to_str().unwrap();
    let o = helm(&["lint", "--strict", c]);
    assert!(o.status.success(), "{}", text(&o));
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        ["das-fibre.yaml", "kafka-split.yaml", "network.yaml"]
            .iter()
            .all(|n| names.iter().any(|m| m == n)),
        "{names:?}"
    );
    for ex in examples() {
        let ex = ex.to_str().unwrap();
        let o = helm(&["lint", "--strict", c, "-f", ex]);
        assert!(o.status.success(), "{ex}: {}", text(&o));
        let o = helm(&["template", "t", c, "-f", ex]);
        assert!(o.status.success(), "{ex}: {}", text(&o));
        let y = String::from_utf8_lossy(&o.stdout);
        assert!(
            y.contains("kind: StatefulSet") && y.contains("kind: ConfigMap"),
            "{ex}"
        );
    }
    // The split example: TLS and SASL from Secrets, KEDA on lag, a PodMonitor, the rules.
    let o = helm(&[
        "template",
        "t",
        c,
        "-f",
        &format!("{c}/examples/kafka-split.yaml"),
    ]);
    let y = String::from_utf8_lossy(&o.stdout);
    for want in [
        "kind: ScaledObject",
        "consumerGroup: \"demo.lowrate\"",
        "kind: PodMonitor",
        "kind: PrometheusRule",
        "name: SEISREDUCE_KAFKA_SASL_PASSWORD",
        "security_protocol = \"sasl_ssl\"",
        "secretName: seismo-cluster-ca-cert",
        "grafana_dashboard: \"seisreduce\"",
        "\"session.timeout.ms\" = \"60000\"",
        "fieldPath: metadata.name",
    ] {
        assert!(
            y.contains(want),
            "missing {want:?} in the kafka-split rendering"
        );
    }
}

#[test]
fn bad_values_are_refused_naming_the_value() {
    let c = chart();
    let c = c.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--set", "kafka.partitions=0"], "/kafka/partitions"),
        (
            &["--set", "image.pullPolicy=Sometimes"],
            "/image/pullPolicy",
        ),
        (
            &[
                "--set",
                "groups[0].name=Bad_Name",
                "--set",
                "groups[0].stages={x}",
            ],
            "/groups/0/name",
        ),
        (&["--set", "kafka.bootstrap=no-port"], "/kafka/bootstrap"),
        (
            &["--set", "podSecurityContext.runAsNonRoot=false"],
            "/podSecurityContext/runAsNonRoot",
        ),
        (&["--set", "metrics.prot=9000"], "prot"),
        // Checks the schema cannot express, made by the templates.
        (
            &[
                "--set",
                "groups[0].name=one",
                "--set",
                "groups[0].stages={lowrate}",
                "--set",
                "groups[0].autoscaling.enabled=true",
                "--set",
                "groups[0].autoscaling.maxReplicas=40",
            ],
            "above kafka.partitions",
        ),
        (
            &["--set", "kafka.sasl.enabled=true"],
            "kafka.sasl.passwordSecret.name",
        ),
    ];
    for (args, want) in cases {
        let mut a = vec!["template", "t", c];
        a.extend_from_slice(args);
        let o = helm(&a);
        let t = text(&o);
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(t.contains(want), "{args:?}: {want:?} not in: {t}");
    }
    // A split over a memory-bus pipeline cannot work: refused, saying why.
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("v.yaml");
    std::fs::write(
        &values,
        "pipeline: |\n  [pipeline]\n  name = \"m\"\n  bus = \"memory\"\n",
    )
    .unwrap();
    let o = helm(&["template", "t", c, "-f", values.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).contains("more than one group needs bus"),
        "{}",
        text(&o)
    );
}

/// The packages the Dockerfile's runtime stage installs.
fn runtime_packages() -> Vec<String> {
    let df = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let runtime = df.split("AS runtime").nth(1).expect("a runtime stage");
    let install = runtime.split("apt-get install").nth(1).unwrap();
    let install = install.split("&&").next().unwrap();
    install
        .split_whitespace()
        .filter(|w| !w.starts_with('-') && *w != "\\")
        .map(str::to_string)
        .collect()
}

#[test]
fn runtime_image_installs_every_library_the_binary_links() {
    let exe = env!("CARGO_BIN_EXE_seisreduce");
    let o = Command::new("readelf").args(["-d", exe]).output().unwrap();
    let needed: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_string))
        .collect();
    assert!(
        needed.iter().any(|n| n.starts_with("libhdf5")),
        "{needed:?}"
    );
    let have = runtime_packages();
    let ldd = Command::new("ldd").arg(exe).output().unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout).into_owned();
    for lib in needed {
        // The file the loader uses, and the Debian package that ships it (usr-merged paths).
        let path = ldd
            .lines()
            .find(|l| l.trim_start().starts_with(&lib))
            .and_then(|l| l.split("=>").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .map(|p| {
                p.replace("/lib/", "/usr/lib/")
                    .replace("/usr/usr/", "/usr/")
            })
            .unwrap_or_else(|| format!("/usr/lib/x86_64-linux-gnu/{lib}"));
        let path = if lib.starts_with("ld-linux") {
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".to_string()
        } else {
            path
        };
        // dpkg knows a usr-merged file under one of its two names.
        let pkg = [path.clone(), path.replacen("/usr/lib/", "/lib/", 1)]
            .iter()
            .find_map(|p| {
                let o = Command::new("dpkg").args(["-S", p]).output().ok()?;
                let owner = String::from_utf8_lossy(&o.stdout).into_owned();
                let pkg = owner.split(':').next()?.trim().to_string();
                (o.status.success() && !pkg.is_empty()).then_some(pkg)
            })
            .unwrap_or_default();
        assert!(!pkg.is_empty(), "{lib} ({path}): no Debian package owns it");
        assert!(
            have.contains(&pkg),
            "{lib} comes from {pkg}, which the Dockerfile's runtime stage does not install ({have:?})"
        );
    }
}

/// Prometheus' HTTP API: the JSON of `path`. HTTP/1.0, so that the answer is neither kept
/// alive nor chunked.
fn prom(port: u16, path: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let ok = head.split_whitespace().nth(1) == Some("200");
    ok.then(|| serde_json::from_str(body).ok())?
}

fn query(port: u16, q: &str) -> Vec<Value> {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    prom(port, &format!("/api/v1/query?query={enc}"))
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

/// Metric names an expression reads.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names: Vec<String> = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("seisreduce_") || *w == "up" || w.starts_with("process_"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn rendered_stages_run_locally_and_prometheus_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let data = dir.path().join("data");
    let c = chart();
    // Three groups over Kafka: synthetic stations and the shared miniSEED files (replayed in
    // real time, so the source stays up; their broken records are dropped and counted), two
    // reducer replicas, an archive. Pointed at the local broker and a local storage root;
    // alerts on, StageDown without delay.
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        format!(
            r#"pipeline: |
  [pipeline]
  name = "demo"
  bus = "kafka"

  [sources.stations]
  type = "synthetic"
  channels = 6
  rate = 100.0
  chunk_s = 0.5
  realtime = true

  [sources.files]
  type = "mseed"
  path = "{}"
  speed = "realtime"

  [operators.decode]
  type = "decode"
  inputs = ["files"]

  [operators.lowrate]
  type = "decimate"
  inputs = ["stations"]
  factor = 5

  [sinks.archive]
  type = "mseed"
  inputs = ["lowrate", "decode"]
  path = "demo/decimated"
  commit_interval_s = 0.5
groups:
  - name: acquisition
    stages: [stations, files]
  - name: reduce
    stages: [decode, lowrate]
    replicas: 2
  - name: sinks
    stages: [archive]
"#,
            common::test_data().join("mseed").display()
        ),
    )
    .unwrap();
    let o = helm(&[
        "template",
        "t",
        c.to_str().unwrap(),
        "-f",
        values.to_str().unwrap(),
        "--set",
        &format!("kafka.bootstrap={}", broker.address()),
        "--set",
        "kafka.partitions=2",
        "--set",
        "kafka.replication=1",
        "--set",
        &format!("storage.root={}", data.display()),
        "--set",
        "log.format=human",
        "--set",
        "alerts.enabled=true",
        "--set",
        "alerts.stageDownFor=0s",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, &o.stdout).unwrap();
    let m: Value =
        serde_json::from_str(&common::run_python("manifests.py", &[rendered.as_os_str()])).unwrap();

    // What the pods mount at /etc/seisreduce.
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let cm = &m["configmaps"]["t-seisreduce"];
    for file in ["pipeline.toml", "settings.toml"] {
        std::fs::write(etc.join(file), cm[file].as_str().unwrap()).unwrap();
    }
    // The alert rules, checked by promtool.
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, serde_json::to_string(&m["rules"]).unwrap()).unwrap();
    let o = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // Every pod of every StatefulSet as a local process, exactly as its manifest says; the only
    // change is the metrics port (pods each own 9898; here they share one network).
    let mut procs: Vec<(String, Proc, u16)> = Vec::new();
    for w in m["workloads"].as_array().unwrap() {
        let name = w["name"].as_str().unwrap();
        assert_eq!(w["command"], serde_json::json!(["seisreduce"]));
        assert_eq!(w["probes"], serde_json::json!(["/healthz", "/readyz"]));
        assert_eq!(w["security"]["readOnlyRootFilesystem"], true);
        assert_eq!(w["pod_security"]["runAsNonRoot"], true);
        for i in 0..w["replicas"].as_u64().unwrap() {
            let pod = format!("{name}-{i}");
            let port = free_port();
            let mut cmd = bin();
            for a in w["args"].as_array().unwrap() {
                cmd.arg(
                    a.as_str()
                        .unwrap()
                        .replace("/etc/seisreduce", etc.to_str().unwrap()),
                );
            }
            for e in w["env"].as_array().unwrap() {
                let key = e["name"].as_str().unwrap();
                if let Some(v) = e["value"].as_str() {
                    cmd.env(key, v);
                } else if e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name" {
                    cmd.env(key, &pod);
                } else {
                    panic!(
                        "{pod}: env {key} from {} is not set up by this test",
                        e["valueFrom"]
                    );
                }
            }
            cmd.env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{port}"));
            procs.push((
                pod.clone(),
                Proc::spawn(cmd, dir.path().join(format!("{pod}.log"))),
                port,
            ));
        }
    }
    assert_eq!(procs.len(), 4, "acquisition 1 + reduce 2 + sinks 1");
    for (pod, _, port) in &procs {
        wait_until(Duration::from_secs(90), &format!("{pod} ready"), || {
            http_get(*port, "/readyz").is_some_and(|(c, _)| c == 200)
        });
    }
    // Data flows end to end: the archive pod writes the decimated stations.
    let archive = data.join("demo/decimated");
    wait_until(Duration::from_secs(90), "records in the archive", || {
        records_so_far(&archive) >= 24
    });

    // A real Prometheus scrapes every pod and evaluates the chart's rules every second.
    let prom_port = free_port();
    let targets: Vec<String> = procs
        .iter()
        .map(|(_, _, p)| format!("\"127.0.0.1:{p}\""))
        .collect();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [\"{}\"]\nscrape_configs:\n  - job_name: seisreduce\n    static_configs:\n      - targets: [{}]\n",
            rules.display(),
            targets.join(", ")
        ),
    )
    .unwrap();
    let mut p = Command::new("prometheus");
    p.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"));
    let _prometheus = Proc::spawn(p, dir.path().join("prometheus.log"));
    wait_until(Duration::from_secs(60), "every target up", || {
        let up = query(prom_port, "up == 1");
        up.len() == procs.len()
    });
    // Rates need a few scrapes.
    std::thread::sleep(Duration::from_secs(6));
    for expr in m["dashboard"].as_array().unwrap() {
        let q = expr
            .as_str()
            .unwrap()
            .replace("$pipeline", ".*")
            .replace("$job", ".*");
        wait_until(
            Duration::from_secs(20),
            &format!("a series for the dashboard query {q}"),
            || !query(prom_port, &q).is_empty(),
        );
    }
    for group in m["rules"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            for name in metric_names(rule["expr"].as_str().unwrap()) {
                let q = format!("count({{__name__=\"{name}\"}})");
                assert!(
                    !query(prom_port, &q).is_empty(),
                    "{}: no series {name}",
                    rule["alert"]
                );
            }
        }
    }
    assert!(
        query(prom_port, "ALERTS{alertname=\"SeisreduceStageDown\"}").is_empty(),
        "nothing is down yet"
    );
    // A reducer pod dies: its target goes down and the alert fires.
    let (pod, mut victim, _) = procs.remove(1);
    victim.signal(libc::SIGKILL);
    let _ = victim.wait(Duration::from_secs(10));
    wait_until(
        Duration::from_secs(60),
        &format!("SeisreduceStageDown for {pod}"),
        || {
            query(
                prom_port,
                "ALERTS{alertname=\"SeisreduceStageDown\",alertstate=\"firing\"}",
            )
            .len()
                == 1
        },
    );
    for (_, mut proc, _) in procs {
        assert!(
            proc.terminate(Duration::from_secs(30)).success(),
            "{}",
            proc.log_text()
        );
    }
}
