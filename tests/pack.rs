//! A read-write layer packed into an OCI tarball (with the library's walk, exercise 07's
//! reference answer) and unpacked again is the same tree: overlay's whiteouts and opaque
//! directories survive the trip through `.wh.` names.

mod common;

use minidocker::commit::RULES;
use minidocker::image::whiteout::is_opaque;
use minidocker::image::{pack, unpack};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

#[test]
fn an_upper_dir_round_trips_through_a_layer_tarball() {
    if !common::have_root("an_upper_dir_round_trips_through_a_layer_tarball") {
        return;
    }
    let root = common::TestRoot::new("pack");
    let upper = root.path.join("upper");
    fs::create_dir_all(upper.join("app/opaque")).unwrap();
    fs::write(upper.join("app/main.py"), "print('hi')\n").unwrap();
    std::os::unix::fs::chown(upper.join("app/main.py"), Some(1234), Some(5678)).unwrap();
    // After chown, which clears set-uid.
    fs::set_permissions(upper.join("app/main.py"), fs::Permissions::from_mode(0o4750)).unwrap();
    fs::hard_link(upper.join("app/main.py"), upper.join("app/same.py")).unwrap();
    std::os::unix::fs::symlink("/app/main.py", upper.join("app/link")).unwrap();
    fs::write(upper.join("etc-hosts-like"), "excluded").unwrap();
    nix::sys::stat::mknod(
        &upper.join("app/deleted"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap();
    // A device node the container made is not image content (a 0:0 one is a whiteout).
    nix::sys::stat::mknod(
        &upper.join("app/null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    minidocker::image::unpack::fsetxattr(
        &fs::File::open(upper.join("app/opaque")).unwrap(),
        "trusted.overlay.opaque",
        b"y",
    )
    .unwrap();

    let mut tarball = Vec::new();
    let packed =
        pack::pack(&upper, &["etc-hosts-like"], RULES.pack_rw_layer, &mut tarball).unwrap();
    assert_eq!(packed.deleted.len(), 2, "{packed:?}");
    assert!(!packed.changed.iter().any(|p| p.contains("etc-hosts-like")), "{packed:?}");

    let out = root.path.join("out");
    fs::create_dir(&out).unwrap();
    let u = unpack::unpack(tarball.as_slice(), &out).unwrap();
    assert_eq!(u.diff_id, minidocker::image::Digest::of(&tarball));
    let main = fs::metadata(out.join("app/main.py")).unwrap();
    assert_eq!((main.mode() & 0o7777, main.uid(), main.gid()), (0o4750, 1234, 5678));
    assert_eq!(fs::metadata(out.join("app/same.py")).unwrap().ino(), main.ino(), "hard link kept");
    assert_eq!(fs::read_link(out.join("app/link")).unwrap().to_str(), Some("/app/main.py"));
    let wh = fs::symlink_metadata(out.join("app/deleted")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "the whiteout came back as a 0:0 device"
    );
    assert!(is_opaque(&out.join("app/opaque")), "the opaque marker came back as the xattr");
    assert!(!out.join("etc-hosts-like").exists());
    assert!(!out.join("app/null").exists(), "a device node is left out");
    // Same tree, same bytes: packing is deterministic, so the build cache can trust diff_ids.
    let mut again = Vec::new();
    pack::pack(&upper, &["etc-hosts-like"], RULES.pack_rw_layer, &mut again).unwrap();
    assert_eq!(again, tarball);
}

/// What exercise 07's check relies on: a walk that adds overlay's whiteout as it is gets a 0:0
/// character device into the tarball — which the unpacker then refuses — not silence.
#[test]
fn a_whiteout_added_as_it_is_reaches_the_tarball_and_is_refused() {
    if !common::have_root("a_whiteout_added_as_it_is_reaches_the_tarball_and_is_refused") {
        return;
    }
    fn as_it_is(
        upper: &std::path::Path,
        dir: &std::path::Path,
        layer: &mut pack::Layer,
    ) -> minidocker::Result<()> {
        for e in fs::read_dir(upper.join(dir))? {
            let path = dir.join(e?.file_name());
            layer.add(&path, &upper.join(&path))?;
        }
        Ok(())
    }
    let root = common::TestRoot::new("pack-naive");
    let upper = root.path.join("upper");
    fs::create_dir_all(&upper).unwrap();
    let none = nix::sys::stat::Mode::empty();
    nix::sys::stat::mknod(&upper.join("gone"), nix::sys::stat::SFlag::S_IFCHR, none, 0).unwrap();
    let mut tarball = Vec::new();
    pack::pack(&upper, &[], as_it_is, &mut tarball).unwrap();
    let mut archive = tar::Archive::new(tarball.as_slice());
    let kinds: Vec<(String, tar::EntryType)> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.path().unwrap().display().to_string(), e.header().entry_type()))
        .collect();
    assert_eq!(kinds, [("gone".to_string(), tar::EntryType::Char)]);
    let out = root.path.join("out");
    fs::create_dir(&out).unwrap();
    let err = unpack::unpack(tarball.as_slice(), &out).unwrap_err();
    assert!(format!("{err:#}").contains("a device node outside /dev"), "{err:#}");
}
