package zkembed

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/internal/dirformat"
	"github.com/zkembed/zkembed/znode"
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

// dirFormat reads dir's FORMAT file (package dirformat), or creates it
// with bits when there is none (a new directory, or one made before the file existed). It returns
// the counter width to use: the recorded one. An explicit, different
// Options.ZxidCounterBits is an error; an unset one adopts the recorded.
func dirFormat(fs vfs.FS, dir string, bits int, explicit bool) (int, error) {
	path := fs.PathJoin(dir, dirformat.File)
	f, err := fs.Open(path)
	if err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4096))
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		stored, err := dirformat.Parse(b)
		if err != nil {
			return 0, fmt.Errorf("%s: %w: %w", path, err, znode.ErrDataInconsistency)
		}
		if explicit && stored != bits {
			return 0, optionError("ZxidCounterBits", bits, fmt.Sprintf("the directory was created with %d; the zxid layout of existing data cannot change", stored))
		}
		return stored, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	tmp := path + ".tmp"
	w, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = w.Write(dirformat.Encode(bits))
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err == nil {
		var d vfs.File
		if d, err = fs.OpenDir(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return bits, nil
}
