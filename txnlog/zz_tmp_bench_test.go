package txnlog_test

import (
	"testing"
	"sync/atomic"
	"github.com/cockroachdb/pebble/v2"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

func BenchmarkTmpRawGoroutine(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: &memLogger{}, FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var next atomic.Int64
	runConcurrent(b, 64, func() {
		z := next.Add(1)
		var k [8]byte
		k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7] = byte(z>>56), byte(z>>48), byte(z>>40), byte(z>>32), byte(z>>24), byte(z>>16), byte(z>>8), byte(z)
		batch := db.NewBatch()
		_ = batch.Set(k[:], txn.Encode(rec(znode.Zxid(z))), nil)
		done := make(chan error, 1)
		go func() { done <- batch.Commit(pebble.Sync) }()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		batch.Close()
	})
}
