//! Certificate classification against chains made in the test (rcgen), and
//! the committed openssl fixtures for what rcgen cannot sign (SHA-1, MD5,
//! RSA-1024; `tests/data/tls/certs/README.md`).

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};

use super::*;

/// The tests' clock: 2026-06-01.
fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("timestamp")
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
    pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p
}

fn root(cn: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let params = ca_params(cn);
    let cert = params.self_signed(&key).expect("self-sign");
    Ca { der: cert.der().to_vec(), pem: cert.pem(), issuer: Issuer::new(params, key) }
}

fn intermediate(cn: &str, parent: &Ca) -> Ca {
    let key = KeyPair::generate().expect("key");
    let params = ca_params(cn);
    let cert = params.signed_by(&key, &parent.issuer).expect("sign");
    Ca { der: cert.der().to_vec(), pem: cert.pem(), issuer: Issuer::new(params, key) }
}

fn leaf_params(sans: &[&str]) -> CertificateParams {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut p = CertificateParams::new(sans).expect("params");
    p.distinguished_name.push(DnType::CommonName, "www.example.test");
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2026, 12, 1);
    p
}

fn sign(params: &CertificateParams, parent: &Ca) -> Vec<u8> {
    let key = KeyPair::generate().expect("key");
    params.signed_by(&key, &parent.issuer).expect("sign").der().to_vec()
}

fn leaf(parent: &Ca) -> Vec<u8> {
    sign(&leaf_params(&["www.example.test"]), parent)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn run(chain: &[Vec<u8>], anchors: &TrustAnchors, host: &[String]) -> CertReport {
    run_with(chain, anchors, host, &[], now())
}

fn run_with(
    chain: &[Vec<u8>],
    anchors: &TrustAnchors,
    host: &[String],
    addresses: &[IpAddr],
    now: Timestamp,
) -> CertReport {
    let ctx = CertContext {
        now,
        names: host,
        addresses,
        check_hostname: true,
        anchors,
        min_days_left: 14,
        min_rsa_bits: 2048,
        max_lifetime_days: Some(366),
    };
    classify(chain, &ctx)
}

fn anchors_of(ca: &Ca) -> TrustAnchors {
    TrustAnchors::from_der(std::slice::from_ref(&ca.der)).expect("anchor")
}

/// The problems' variant names, for compact expectations.
fn kinds(r: &CertReport) -> Vec<String> {
    r.problems
        .iter()
        .map(|p| format!("{p:?}").split([' ', '{', '(']).next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_good_chain_has_no_problem_and_a_full_summary() {
    let root = root("Root");
    let inter = intermediate("Intermediate", &root);
    let chain = vec![leaf(&inter), inter.der.clone()];
    let r = run(&chain, &anchors_of(&root), &names(&["www.example.test"]));
    assert_eq!(r.problems, []);
    let leaf = r.leaf.expect("leaf");
    assert_eq!(leaf.position, 0);
    assert_eq!(leaf.subject, "CN=www.example.test");
    assert_eq!(leaf.issuer, "CN=Intermediate");
    assert_eq!(leaf.san, ["DNS:www.example.test"]);
    assert_eq!(leaf.key, KeyInfo::Ec { curve: "prime256v1".to_owned(), bits: 256 });
    assert_eq!(leaf.signature, "ecdsa-with-SHA256");
    assert_eq!(leaf.not_after.to_string(), "2026-12-01T00:00:00Z");
    // The root sent along is tolerated.
    let with_root = vec![chain[0].clone(), inter.der.clone(), root.der.clone()];
    assert_eq!(run(&with_root, &anchors_of(&root), &[]).problems, []);
}

#[test]
fn validity_window() {
    let root = root("Root");
    let anchors = anchors_of(&root);
    let check = |nb: (i32, u8, u8), na: (i32, u8, u8), expected: &[&str]| {
        let mut p = leaf_params(&["www.example.test"]);
        p.not_before = date_time_ymd(nb.0, nb.1, nb.2);
        p.not_after = date_time_ymd(na.0, na.1, na.2);
        let r = run(&[sign(&p, &root)], &anchors, &[]);
        assert_eq!(kinds(&r), expected, "{nb:?}..{na:?}");
        r
    };
    check((2026, 1, 1), (2026, 5, 31), &["Expired"]);
    check((2026, 7, 1), (2026, 12, 1), &["NotYetValid"]);
    let r = check((2026, 1, 1), (2026, 6, 10), &["Expiring"]);
    assert!(matches!(r.problems[0], CertProblem::Expiring { days_left: 9, min_days_left: 14, .. }));
    check((2026, 1, 1), (2026, 6, 16), &[]);
    // Over the profile's 366 days.
    let r = check((2026, 1, 1), (2027, 3, 1), &["LifetimeTooLong"]);
    assert!(matches!(r.problems[0], CertProblem::LifetimeTooLong { days: 424, max_days: 366, .. }));
}

#[test]
fn an_expired_intermediate_is_named_by_position() {
    let root = root("Root");
    let key = KeyPair::generate().expect("key");
    let mut params = ca_params("Old Intermediate");
    params.not_after = date_time_ymd(2026, 2, 1);
    let inter_der = params.signed_by(&key, &root.issuer).expect("sign").der().to_vec();
    let inter = Ca { issuer: Issuer::new(params, key), der: inter_der, pem: String::new() };
    let r = run(&[leaf(&inter), inter.der.clone()], &anchors_of(&root), &[]);
    match r.problems.as_slice() {
        [CertProblem::Expired { cert }] => assert_eq!(cert.position, 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn self_signed_leaf_unless_pinned() {
    let key = KeyPair::generate().expect("key");
    let der = leaf_params(&["www.example.test"]).self_signed(&key).expect("sign").der().to_vec();
    let chain = vec![der.clone()];
    let r = run(&chain, &TrustAnchors::webpki_roots(), &[]);
    assert_eq!(kinds(&r), ["SelfSigned"]);
    // The same certificate as the spec's trusted_ca is trusted as it is.
    let pinned = TrustAnchors::from_der(&chain).expect("anchor");
    assert_eq!(run(&chain, &pinned, &[]).problems, []);
}

#[test]
fn chain_to_a_foreign_root_is_untrusted() {
    let ours = root("Our Root");
    let theirs = root("Their Root");
    let inter = intermediate("Their Intermediate", &theirs);
    let chain = vec![leaf(&inter), inter.der.clone(), theirs.der.clone()];
    let r = run(&chain, &anchors_of(&ours), &[]);
    match r.problems.as_slice() {
        [CertProblem::UntrustedIssuer { cert, reason: UntrustedReason::UnknownRoot }] => {
            assert_eq!((cert.position, cert.subject.as_str()), (2, "CN=Their Root"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_intermediate() {
    let root = root("Root");
    let inter = intermediate("Intermediate", &root);
    let r = run(&[leaf(&inter)], &anchors_of(&root), &[]);
    match r.problems.as_slice() {
        [CertProblem::MissingIntermediate { cert }] => assert_eq!(cert.issuer, "CN=Intermediate"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_order_is_reported_with_the_path() {
    let root = root("Root");
    let a = intermediate("A", &root);
    let b = intermediate("B", &a);
    let chain = vec![leaf(&b), a.der.clone(), b.der.clone()];
    let r = run(&chain, &anchors_of(&root), &[]);
    assert_eq!(r.problems, [CertProblem::WrongOrder { path: vec![0, 2, 1] }]);
}

#[test]
fn a_forged_signature_is_untrusted() {
    let root = root("Root");
    let inter = intermediate("Intermediate", &root);
    // Same name as the real intermediate, another key.
    let forger = Ca {
        issuer: Issuer::new(ca_params("Intermediate"), KeyPair::generate().expect("key")),
        der: Vec::new(),
        pem: String::new(),
    };
    let r = run(&[leaf(&forger), inter.der.clone()], &anchors_of(&root), &[]);
    match r.problems.as_slice() {
        [CertProblem::UntrustedIssuer { cert, reason: UntrustedReason::BadSignature }] => {
            assert_eq!(cert.position, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostnames_follow_rfc_6125() {
    let root = root("Root");
    let anchors = anchors_of(&root);
    let wild = sign(&leaf_params(&["*.example.test", "198.18.10.10"]), &root);
    let chain = vec![wild];
    let check = |host: &[&str], addrs: &[&str], expected: &[&str]| {
        let addrs: Vec<IpAddr> = addrs.iter().map(|a| a.parse().expect("ip")).collect();
        let r = run_with(&chain, &anchors, &names(host), &addrs, now());
        let uncovered: Vec<String> = r
            .problems
            .iter()
            .flat_map(|p| match p {
                CertProblem::HostnameMismatch { uncovered, .. } => uncovered.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(uncovered, expected, "{host:?} {addrs:?}");
    };
    check(&["www.example.test"], &[], &[]);
    check(&["WWW.Example.Test."], &[], &[]);
    check(&["a.b.example.test"], &[], &["a.b.example.test"]);
    check(&["example.test", "api.example.test"], &[], &["example.test"]);
    // Addresses count only for a host without DNS names.
    check(&[], &["198.18.10.10"], &[]);
    check(&[], &["198.18.10.11"], &["198.18.10.11"]);
    check(&["www.example.test"], &["198.18.10.11"], &[]);
}

#[test]
fn common_name_only_when_there_is_no_san() {
    let root = root("Root");
    let no_san = sign(&leaf_params(&[]), &root);
    let r = run(&[no_san], &anchors_of(&root), &names(&["www.example.test", "api.example.test"]));
    assert_eq!(kinds(&r), ["HostnameInCommonNameOnly", "HostnameMismatch"]);
    // With a SAN, the CN is never consulted.
    let san = sign(&leaf_params(&["api.example.test"]), &root);
    let r = run(&[san], &anchors_of(&root), &names(&["www.example.test"]));
    assert_eq!(kinds(&r), ["HostnameMismatch"]);
}

#[test]
fn wildcard_matching() {
    for (pattern, name, expected) in [
        ("*.example.test", "www.example.test", true),
        ("*.example.test", "example.test", false),
        ("*.example.test", "a.b.example.test", false),
        ("*.test", "example.test", false),
        ("w*.example.test", "www.example.test", false),
        ("www.*.test", "www.example.test", false),
        ("*", "localhost", false),
        ("www.example.test", "WWW.EXAMPLE.TEST", true),
        ("", "", false),
    ] {
        assert_eq!(dns_matches(pattern, name), expected, "{pattern} vs {name}");
    }
}

#[test]
fn malformed_elements() {
    let root = root("Root");
    let mut trailing = leaf(&root);
    trailing.push(0);
    let r = run(&[trailing], &anchors_of(&root), &[]);
    assert_eq!(r.leaf, None);
    assert!(
        matches!(&r.problems[..], [CertProblem::Malformed { position: 0, error }] if error.contains("after")),
        "{r:?}"
    );
    let r = run(&[leaf(&root), b"junk".to_vec()], &anchors_of(&root), &[]);
    assert!(matches!(&r.problems[..], [CertProblem::Malformed { position: 1, .. }]), "{r:?}");
    assert_eq!(run(&[], &anchors_of(&root), &[]).problems, [CertProblem::NoCertificate]);
}

#[test]
fn anchors_from_pem_and_webpki() {
    let root = root("Root");
    let anchors = TrustAnchors::from_pem(root.pem.as_bytes()).expect("pem");
    assert_eq!(anchors, anchors_of(&root));
    assert!(TrustAnchors::from_pem(b"not pem").is_err());
    assert!(TrustAnchors::webpki_roots().len() > 100);
}

/// Weak keys and hashes, from the openssl fixtures (valid 2026-12-02 for
/// ten years, so judged in 2027).
#[test]
fn weak_keys_and_signatures_from_fixtures() {
    let fixture = |name: &str| match name {
        "root" => include_bytes!("../../../tests/data/tls/certs/root.der").to_vec(),
        "rsa1024" => include_bytes!("../../../tests/data/tls/certs/rsa1024.der").to_vec(),
        "sha1" => include_bytes!("../../../tests/data/tls/certs/sha1.der").to_vec(),
        _ => include_bytes!("../../../tests/data/tls/certs/md5.der").to_vec(),
    };
    let anchors = TrustAnchors::from_der(&[fixture("root")]).expect("anchor");
    let when: Timestamp = "2027-06-01T00:00:00Z".parse().expect("timestamp");
    let host = names(&["www.example.test"]);
    let judge = |leaf: &str| {
        let ctx = CertContext {
            now: when,
            names: &host,
            addresses: &[],
            check_hostname: true,
            anchors: &anchors,
            min_days_left: 14,
            min_rsa_bits: 2048,
            max_lifetime_days: None,
        };
        classify(&[fixture(leaf)], &ctx).problems
    };
    match judge("rsa1024").as_slice() {
        [CertProblem::WeakKey { cert, bits: 1024, min_bits: 2048 }] => {
            assert_eq!(cert.key, KeyInfo::Rsa { bits: 1024 });
        }
        other => panic!("{other:?}"),
    }
    match judge("sha1").as_slice() {
        [CertProblem::WeakSignature { cert, hash: WeakHash::Sha1 }] => {
            assert_eq!((cert.position, cert.signature.as_str()), (0, "sha1WithRSAEncryption"));
        }
        other => panic!("{other:?}"),
    }
    // ring cannot check MD5: weak, but not called forged.
    match judge("md5").as_slice() {
        [CertProblem::WeakSignature { hash: WeakHash::Md5, .. }] => {}
        other => panic!("{other:?}"),
    }
}
