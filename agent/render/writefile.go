package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// rename is os.Rename; tests replace it to make the last step fail.
var rename = os.Rename

// fileOwner is the uid and gid to give a written file; -1 leaves it as the
// writing process creates it.
type fileOwner struct{ uid, gid int }

// lookupOwner resolves Spec.Owner and Spec.Group (names or numeric ids).
func lookupOwner(owner, group string) (fileOwner, error) {
	o := fileOwner{uid: -1, gid: -1}
	if owner != "" {
		id, err := resolveID(owner, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return o, fmt.Errorf("owner %q: %w", owner, err)
		}
		o.uid = id
	}
	if group != "" {
		id, err := resolveID(group, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return o, fmt.Errorf("group %q: %w", group, err)
		}
		o.gid = id
	}
	return o, nil
}

func resolveID(nameOrID string, lookup func(string) (string, error)) (int, error) {
	if n, err := strconv.Atoi(nameOrID); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative id")
		}
		return n, nil
	}
	s, err := lookup(nameOrID)
	if err != nil {
		return 0, fmt.Errorf("unknown on this host: %w", err)
	}
	return strconv.Atoi(s)
}

// WriteFile replaces path with data atomically (temp file in the same
// directory, fsync, rename, directory fsync) unless path already holds
// exactly data, and reports whether it changed the file. The agent's peer
// snapshot and the testbed's state file use it as well as the renderer.
func WriteFile(path string, data []byte, mode os.FileMode) (changed bool, err error) {
	return writeFile(path, data, mode, fileOwner{uid: -1, gid: -1})
}

// writeFile replaces path with data atomically, unless path already holds
// exactly data. The new file is written to a temporary file in the same
// directory, fsynced, given mode and owner, renamed over path, and the
// directory is fsynced so the rename survives a crash. When the content is
// unchanged but the mode or owner is not, those are fixed in place and
// changed is false.
func writeFile(path string, data []byte, mode os.FileMode, owner fileOwner) (changed bool, err error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, fixAttrs(path, mode, owner)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("read %s: %w", path, err)
	}

	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+base+".farmhand-*")
	if err != nil {
		return false, fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return false, fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err = tmp.Sync(); err != nil {
		return false, fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return false, fmt.Errorf("chmod %s: %w", tmpName, err)
	}
	if owner.uid >= 0 || owner.gid >= 0 {
		if err = tmp.Chown(owner.uid, owner.gid); err != nil {
			return false, fmt.Errorf("chown %s: %w", tmpName, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err = rename(tmpName, path); err != nil {
		return false, fmt.Errorf("rename %s to %s: %w", tmpName, path, err)
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability across a crash is in doubt.
		return true, err
	}
	return true, nil
}

// fixAttrs gives an existing file the wanted mode and owner if it differs.
func fixAttrs(path string, mode os.FileMode, owner fileOwner) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode().Perm() != mode.Perm() {
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if (owner.uid >= 0 && int(st.Uid) != owner.uid) || (owner.gid >= 0 && int(st.Gid) != owner.gid) {
		if err := os.Chown(path, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("chown %s: %w", path, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
