package zkembed

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// mkdirAllSynced creates dir and any missing parents on fs, and fsyncs the
// parent of every directory on the path: until the parent is synced, a
// crash can lose the directory's entry, and with it everything inside,
// however durable those files were made.
func mkdirAllSynced(fs vfs.FS, dir string) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(fs, parent); err != nil {
			return err
		}
	}
	// A directory that exists may still be a crashed run's, created but
	// never synced into its parent: sync the parent either way (Open
	// only, and cheap).
	if _, err := fs.Stat(dir); err != nil {
		if err := fs.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	d, err := fs.OpenDir(parent)
	if err != nil {
		return fmt.Errorf("open %s: %w", parent, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", parent, err)
	}
	return nil
}

// storageLogger receives pebble's messages: routine ones (WAL replay,
// compactions) are dropped, errors go to the standard logger. Fatal errors
// never reach it; txnlog turns them into errors.
type storageLogger struct{}

func (storageLogger) Infof(string, ...any) {}
func (storageLogger) Errorf(format string, args ...any) {
	log.Printf("zkembed: storage: "+format, args...)
}
func (storageLogger) Fatalf(format string, args ...any) {
	log.Printf("zkembed: storage fatal: "+format, args...)
}
