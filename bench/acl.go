package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// ACLReport is the cost of the permission check in getData on nodes with a
// digest ACL, measured two ways in one run.
type ACLReport struct {
	// GetDigest is GetData on nodes whose ACL grants READ to the caller's
	// digest id only after another digest entry; GetWorld is GetData on the
	// same tree's world-readable nodes.
	GetDigest, GetWorld Measure
	// Check is the permission check alone, on the same list for the same
	// ids (acl.Identity.Allowed).
	Check Measure
	// CheckShare is Check ÷ GetDigest; DeltaShare is (GetDigest −
	// GetWorld) ÷ GetDigest, what the digest ACL adds end to end.
	CheckShare, DeltaShare float64
}

// String renders the report on two lines.
func (r ACLReport) String() string {
	return fmt.Sprintf("%-34s %9.0f ns/op | %-22s %7.0f ns/op | ACL check %.0f ns/op = %.1f%% of getData; digest-vs-world delta %.1f%%",
		r.GetDigest.Name, r.GetDigest.NsPerOp, r.GetWorld.Name, r.GetWorld.NsPerOp,
		r.Check.NsPerOp, 100*r.CheckShare, 100*r.DeltaShare)
}

// ACL measures the permission check's share of getData (issue 6's target:
// at most 10%). The tree has cfg.Nodes nodes, half with a digest ACL of two
// entries (alice ALL, bob READ), half world-readable; the reader has added
// digest auth as bob and has an ip id, as a wire session would.
func ACL(cfg Config) (ACLReport, error) {
	cfg = cfg.withDefaults()
	ctx := context.Background()
	db, err := zkembed.Open("", nil)
	if err != nil {
		return ACLReport{}, err
	}
	defer db.Close()
	s, err := db.NewSession(ctx, nil)
	if err != nil {
		return ACLReport{}, err
	}
	digestACL := []zkembed.ACL{
		{Perms: zkembed.PermAll, ID: zkembed.ID{Scheme: "digest", ID: acl.Digest("alice", "secret-a")}},
		{Perms: zkembed.PermRead, ID: zkembed.ID{Scheme: "digest", ID: acl.Digest("bob", "secret-b")}},
	}
	data := make([]byte, cfg.DataSize)
	for _, p := range []string{"/d", "/w"} {
		if _, err := s.Create(ctx, p, nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			return ACLReport{}, err
		}
	}
	half := cfg.Nodes / 2
	for i := range half {
		if _, err := s.Create(ctx, fmt.Sprintf("/d/n%07d", i), data, zkembed.ModePersistent, digestACL); err != nil {
			return ACLReport{}, err
		}
		if _, err := s.Create(ctx, fmt.Sprintf("/w/n%07d", i), data, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			return ACLReport{}, err
		}
	}
	if err := s.AddAuth(ctx, "digest", []byte("bob:secret-b")); err != nil {
		return ACLReport{}, err
	}
	paths := func(prefix string) []string {
		out := make([]string, half)
		for i := range out {
			out[i] = fmt.Sprintf("%s/n%07d", prefix, (i*104729)%half)
		}
		return out
	}
	dPaths, wPaths := paths("/d"), paths("/w")
	get := func(name string, ps []string) Measure {
		return measure(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				if _, _, err := s.GetData(ctx, ps[i%len(ps)]); err != nil {
					panic(err)
				}
			}
		})
	}
	r := ACLReport{
		GetDigest: get(fmt.Sprintf("GetData digest ACL %dk nodes", cfg.Nodes/1000), dPaths),
		GetWorld:  get("GetData world ACL", wPaths),
	}
	authz, err := acl.NewAuthorizer("")
	if err != nil {
		return ACLReport{}, err
	}
	who := authz.Identity(
		znode.ID{Scheme: "ip", ID: "127.0.0.1"},
		znode.ID{Scheme: "digest", ID: acl.Digest("bob", "secret-b")})
	r.Check = measure("Identity.Allowed", func(b *testing.B) {
		for range b.N {
			if !who.Allowed(digestACL, znode.PermRead) {
				panic("denied")
			}
		}
	})
	r.CheckShare = r.Check.NsPerOp / r.GetDigest.NsPerOp
	r.DeltaShare = (r.GetDigest.NsPerOp - r.GetWorld.NsPerOp) / r.GetDigest.NsPerOp
	return r, nil
}
