//! runtime-dll/include against runtime.dll's sources: every function a
//! header declares is exported (`#[no_mangle]`) by runtime.dll or `crt`,
//! every C-runtime export of stdio/file/varargs and of `crt`'s string and
//! ctype modules is declared, and (if clang is installed) the headers
//! compile for the PE target.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn headers() -> Vec<PathBuf> {
    let include = root().join("runtime-dll/include");
    let mut out = Vec::new();
    let mut dirs = vec![include];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "h") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The names of the functions a header declares (prototypes at file
/// level; comments, preprocessor lines and typedefs skipped).
fn declared(text: &str) -> Vec<String> {
    let mut code = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        code.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").unwrap() + 2..];
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        if stmt.starts_with("typedef") || stmt.is_empty() {
            continue;
        }
        let Some(open) = stmt.find('(') else { continue };
        let name: String = stmt[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(!name.is_empty(), "no name in {stmt:?}");
        names.push(name);
    }
    names
}

/// The `#[no_mangle]` functions of a Rust source file.
fn exported(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = false;
    // Inside `c_exports! { fn name(...) -> ... = path; ... }`
    // (runtime-dll/src/cnames.rs) every `fn` line is an export.
    let mut in_list = false;
    for line in text.lines() {
        let l = line.trim();
        if line.starts_with("c_exports! {") {
            in_list = true;
        } else if in_list && line.starts_with('}') {
            in_list = false;
        } else if in_list && l.starts_with("fn ") {
            names.push(
                l[3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        } else if l.starts_with("#[") && l.contains("no_mangle") {
            pending = true;
        } else if pending {
            if let Some(i) = l.find("fn ") {
                let name: String = l[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // (`fn $name` in a macro's own definition names nothing.)
                if !name.is_empty() {
                    names.push(name);
                }
                pending = false;
            } else if l.starts_with("pub static") || l.starts_with("static") {
                pending = false;
            }
        }
    }
    names
}

fn sources(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join(dir)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn headers_declare_exactly_the_exports() {
    let mut decl = BTreeSet::new();
    for h in headers() {
        for name in declared(&read(&h)) {
            decl.insert(name);
        }
    }
    let mut exports = BTreeSet::new();
    for p in sources("runtime-dll/src")
        .into_iter()
        .chain(sources("crates/crt/src"))
    {
        exports.extend(exported(&read(&p)));
    }
    for name in &decl {
        assert!(
            exports.contains(name),
            "{name} is declared in runtime-dll/include but not exported"
        );
    }
    let c_runtime = [
        "runtime-dll/src/file.rs",
        "runtime-dll/src/stdio.rs",
        "runtime-dll/src/varargs.rs",
        "runtime-dll/src/heap.rs",
        "runtime-dll/src/stdlib.rs",
        "runtime-dll/src/cnames.rs",
        "crates/crt/src/mem.rs",
    ];
    for f in c_runtime {
        for name in exported(&read(&root().join(f))) {
            assert!(
                decl.contains(&name),
                "{name} (exported by {f}) is in no header"
            );
        }
    }
    for must in [
        "fopen",
        "fprintf",
        "sscanf",
        "_errno",
        "__acrt_iob_func",
        "exit",
        "_assert",
    ] {
        assert!(decl.contains(must), "{must}");
    }
}

#[test]
fn headers_compile_for_the_pe_target() {
    let dir = std::env::temp_dir().join(format!("ferrite-headers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let include = root().join("runtime-dll/include");
    let mut c = String::new();
    for h in headers() {
        let rel = h
            .strip_prefix(&include)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        c.push_str(&format!("#include <{rel}>\n"));
    }
    c.push_str(
        "_Static_assert(sizeof(long) == 4, \"LLP64\");\n\
         _Static_assert(sizeof(size_t) == 8, \"size_t\");\n\
         int check(void) { FILE *f = stdout; errno = ERANGE; assert(f != NULL);\n\
         return fprintf(f, \"%\" PRId64, (int64_t)1) + (int)ftell(stdin); }\n",
    );
    let src = dir.join("all.c");
    std::fs::write(&src, c).unwrap();
    let out = std::process::Command::new("clang")
        .args([
            "--target=x86_64-pc-windows-msvc",
            "-ffreestanding",
            "-nostdlibinc",
        ])
        .arg("-isystem")
        .arg(&include)
        .args([
            "-U_WIN32", "-U_WIN64", "-std=c11", "-Wall", "-Wextra", "-Werror",
        ])
        .arg("-fsyntax-only")
        .arg(&src)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Err(e) => eprintln!("clang not run ({e}): header compile check skipped"),
        Ok(o) => assert!(
            o.status.success(),
            "clang: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}
