// Package snapshot writes and loads snapshot files: one file holding an
// immutable znode tree at an exact zxid, plus the engine's session table.
//
// # Invariants
//
// Atomic visibility. Write streams the file to dir/snapshot.<zxid>.tmp,
// fsyncs it, renames it to dir/snapshot.<zxid> (zxid as 16 lowercase hex
// digits) and fsyncs dir. A file named snapshot.<zxid> therefore only
// ever appears, after a crash or not, with all its bytes durable; and once
// Write returns nil, that name survives a crash. A crash or an error
// mid-way leaves at most a .tmp file, which List and LoadNewest ignore and
// Prune removes. If only the final directory sync fails, Write returns
// the error but the renamed file is complete and valid (it may or may not
// survive a crash).
//
// Exact, not fuzzy. Write reads a published immutable tree (tree.Snapshot):
// every node is as of the tree's zxid, never newer, so replaying the log
// from zxid+1 on top of a loaded snapshot is exact, with no ZooKeeper-style
// fuzzy-snapshot repair. Write never modifies the tree and may run while the
// engine goes on writing to the tree it came from. It streams: its extra
// memory is one chunk (64 KiB, or one record if larger) and a batch of 64
// node records, whatever the number of nodes. It writes in small paced
// steps, on a thread of lowered priority if asked (see WriteOptions and
// writer.go), so that the engine's log keeps its fsync latency meanwhile.
//
// What Load verifies, before it returns anything:
//   - the header (magic, format version, zxid, counts) and its CRC-32C;
//   - every chunk's CRC-32C, before any byte of it is decoded;
//   - that every integer and list is canonically encoded, within its limits
//     (path ≤ MaxPathSize, data ≤ MaxDataSize, every length within the
//     file), so a lying length can neither panic nor make Load allocate
//     more than a small multiple of the file's size;
//   - sessions in strictly increasing id order and nodes in strictly
//     increasing (parent, name) order, i.e. exactly the order Write uses;
//   - the trailer: the end marker, the node count and the CRC-32C of the
//     whole file, with no bytes after it;
//   - the tree itself, through tree.Restore (valid paths, every parent
//     present, zxids and counts consistent: tree.Check);
//   - the tree digest (see Digest), recomputed from the restored tree and
//     compared with the one Write stored.
//
// Any failure is an error wrapping ErrCorrupt (which wraps
// znode.ErrDataInconsistency). Errors of the filesystem itself (open, read)
// are returned as they are, not as ErrCorrupt. The format is canonical:
// writing a loaded snapshot again gives the same bytes.
//
// # Format (version 2)
//
//	file     header chunk+ end trailer
//	header   magic "ZKE-SNAP" (8 bytes), version (1 byte, 1 or 2), zxid (varint),
//	         session count (uvarint), node count (uvarint, ≥ 1),
//	         CRC-32C of the header bytes before it (4 bytes)
//	chunk    length (uvarint, ≥ 1), payload (length bytes),
//	         CRC-32C of the length bytes and the payload (4 bytes)
//	end      0x00 (a zero chunk length)
//	trailer  node count (uvarint), tree digest (8 bytes),
//	         CRC-32C of every byte of the file before it (4 bytes)
//
// The payloads, concatenated, are the records: first the sessions, then
// the nodes. A record never spans chunks, and a chunk ends right after the
// first record that brings its payload to 64 KiB or more, or after the
// last record. A session is its id (varint), timeout in ms (varint,
// int32) and, in version 2 only, kind (uvarint, a txn.SessionKind: 0
// unknown, 1 in-process, 2 remote). Version 1 is version 2 without the
// kinds: Write writes it when no session has a known kind, so a file
// written before kinds loads (every kind unknown) and writes back to the
// same bytes, and Load rejects a version 2 file without a known kind. A
// node is
//
//	path      string
//	data      varint length, then the bytes; -1 is nil data (ZooKeeper's
//	          null buffer), which differs from empty data
//	acl       uvarint count, then per entry: perms (varint), scheme (string),
//	          id (string)
//	czxid, mzxid, pzxid, ctime, mtime        varint each
//	version, stored cversion, aversion       varint each, int32
//	owner     varint, the raw ephemeralOwner
//
// where varint is a zigzag varint and uvarint an unsigned varint
// (encoding/binary), both of minimal length, string is a uvarint length
// then the bytes, and fixed-size integers are little-endian. CRC-32C is
// the Castagnoli CRC, as in package txn.
package snapshot
