//! Starting servers under test and reading their resource use from `/proc`.
//!
//! Model: a [`Server`] is a child process started as `BIN -a 127.0.0.1 -p -1 -m -1
//! --ports_file_dir DIR [-c CONF]`; it is ready when its `<name>_<pid>.ports` file appears (the
//! readiness convention both nats-server and rnats-server follow), and killed on drop.
//! [`Profile`] names the server configuration a scenario needs (plain, or one auth kind), and
//! [`AuthSetup`] mints the matching credentials and configuration files once per compare run.
//! CPU time comes from `/proc/<pid>/stat` (utime + stime, in USER_HZ ticks of 10 ms on Linux),
//! RSS from `/proc/<pid>/status`.

use super::proto::Auth;
use rnats_auth::jwt::mint::{claims, encode};
use serde_json::json;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Linux's USER_HZ (the unit of `/proc/<pid>/stat` times): 100 on every mainstream arch.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds (user + system, all threads, including exited ones) of process `pid`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields restart after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((ut + st) / TICKS_PER_SEC)
}

/// CPU seconds of this process.
pub fn self_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

/// Resident set size of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Which server configuration a scenario runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// No configuration file.
    Plain,
    /// `authorization { users: [{user, password}] }`.
    User,
    /// `authorization { users: [{nkey}] }`.
    Nkey,
    /// Operator mode with a memory resolver and one account.
    Jwt,
    /// TLS (a certificate made for the run), no credentials.
    Tls,
}

/// Credentials and config files for every [`Profile`], minted into a directory.
#[derive(Debug)]
pub struct AuthSetup {
    confs: Vec<(Profile, PathBuf)>,
    auths: Vec<(Profile, Auth)>,
}

impl AuthSetup {
    /// Mint fresh keys and write `user.conf`, `nkey.conf`, `jwt.conf` into `dir`.
    pub fn write(dir: &Path) -> io::Result<AuthSetup> {
        std::fs::create_dir_all(dir)?;
        let mut confs = Vec::new();
        let mut auths = vec![(Profile::Plain, Auth::None)];

        let user = Auth::User {
            user: "bench".into(),
            pass: "bench-pass".into(),
        };
        let p = dir.join("user.conf");
        std::fs::write(
            &p,
            "authorization {\n  users: [ { user: bench, password: bench-pass } ]\n}\n",
        )?;
        confs.push((Profile::User, p));
        auths.push((Profile::User, user));

        let kp = nkeys::KeyPair::new_user();
        let seed = kp.seed().map_err(io::Error::other)?;
        let p = dir.join("nkey.conf");
        std::fs::write(
            &p,
            format!(
                "authorization {{\n  users: [ {{ nkey: {} }} ]\n}}\n",
                kp.public_key()
            ),
        )?;
        confs.push((Profile::Nkey, p));
        auths.push((Profile::Nkey, Auth::Nkey { seed }));

        let (conf, auth) = jwt_material()?;
        let p = dir.join("jwt.conf");
        std::fs::write(&p, conf)?;
        confs.push((Profile::Jwt, p));
        auths.push((Profile::Jwt, auth));

        let (conf, auth) = tls_material(dir)?;
        let p = dir.join("tls.conf");
        std::fs::write(&p, conf)?;
        confs.push((Profile::Tls, p));
        auths.push((Profile::Tls, auth));
        Ok(AuthSetup { confs, auths })
    }

    /// The config file for `p` (none for [`Profile::Plain`]).
    pub fn conf(&self, p: Profile) -> Option<&Path> {
        self.confs
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, f)| f.as_path())
    }

    /// The client credentials for `p`.
    pub fn auth(&self, p: Profile) -> Auth {
        self.auths
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An operator, a system account, an app account and one user (as `nsc` would make them):
/// the operator-mode config text and the user's credentials.
/// A CA and a server certificate for `localhost`/`127.0.0.1`, written under `dir`; the config
/// and the client side (trusting that CA).
fn tls_material(dir: &Path) -> io::Result<(String, Auth)> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let e = io::Error::other;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let mut srv = CertificateParams::new(vec!["localhost".to_string()]).map_err(e)?;
    srv.subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let key = KeyPair::generate().map_err(e)?;
    let cert = srv.signed_by(&key, &ca_cert, &ca_key).map_err(e)?;
    let (c, k) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
    std::fs::write(&c, cert.pem())?;
    std::fs::write(&k, key.serialize_pem())?;
    let conf = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n",
        c.display(),
        k.display()
    );
    Ok((conf, Auth::Tls { ca: ca_cert.pem() }))
}

fn jwt_material() -> io::Result<(String, Auth)> {
    let e = io::Error::other;
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                        "wildcards": true, "conn": -1, "leaf": -1});
    let op = nkeys::KeyPair::new_operator();
    let op_jwt = encode(
        claims("operator", &op.public_key(), "bench-op", now(), json!({})),
        &op,
    )
    .map_err(e)?;
    let account = |name: &str| -> io::Result<(nkeys::KeyPair, String)> {
        let kp = nkeys::KeyPair::new_account();
        let c = claims(
            "account",
            &kp.public_key(),
            name,
            now(),
            json!({"limits": limits}),
        );
        let jwt = encode(c, &op).map_err(e)?;
        Ok((kp, jwt))
    };
    let (sys, sys_jwt) = account("SYS")?;
    let (app, app_jwt) = account("APP")?;
    let user = nkeys::KeyPair::new_user();
    let uc = claims(
        "user",
        &user.public_key(),
        "bench",
        now(),
        json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
    );
    let user_jwt = encode(uc, &app).map_err(e)?;
    let conf = format!(
        "operator: {op_jwt}\nsystem_account: {sk}\nresolver: MEMORY\nresolver_preload: {{\n  {sk}: {sys_jwt}\n  {ak}: {app_jwt}\n}}\n",
        sk = sys.public_key(),
        ak = app.public_key(),
    );
    let seed = user.seed().map_err(io::Error::other)?;
    Ok((
        conf,
        Auth::Jwt {
            jwt: user_jwt,
            seed,
        },
    ))
}

/// A running server, killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

impl Server {
    /// Start `bin` (with config `conf`) in a fresh directory under `work`, and wait until ready.
    pub fn start(bin: &Path, conf: Option<&Path>, work: &Path, tag: &str) -> io::Result<Server> {
        let dir = work.join(format!("srv-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "-a",
            "127.0.0.1",
            "-p",
            "-1",
            "-m",
            "-1",
            "--ports_file_dir",
        ])
        .arg(&dir);
        if let Some(c) = conf {
            cmd.arg("-c").arg(c);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::other(format!("starting {}: {e}", bin.display())))?;
        let mut s = Server {
            child,
            dir,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(addr) = s.ports_addr() {
                s.addr = addr;
                return Ok(s);
            }
            if let Some(status) = s.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited early ({status}): {}",
                    bin.display(),
                    s.log()
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("server not ready: {}", s.log())));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn ports_addr(&self) -> Option<String> {
        for e in std::fs::read_dir(&self.dir).ok()?.flatten() {
            if e.path().extension().is_some_and(|x| x == "ports") {
                let s = std::fs::read_to_string(e.path()).ok()?;
                let v: serde_json::Value = serde_json::from_str(&s).ok()?;
                let url = v["nats"][0].as_str()?;
                return Some(url.split_once("://").map_or(url, |(_, a)| a).to_string());
            }
        }
        None
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_and_rss_are_readable() {
        assert!(cpu_seconds(std::process::id()).is_some());
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }
}
