//! Starting the simulator binary for a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The simulator on a free port; stopped when dropped.
pub struct Sim {
    child: Child,
    pub base: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lading-simulator --port 0 <args>` and reads its base URL from the first line.
pub fn start(args: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lading-simulator"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the simulator starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    Sim { child, base }
}
