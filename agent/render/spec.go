package render

import (
	"os"
	"time"

	"github.com/farmhand/farmhand/membership"
)

// Spec is one render block of the agent config: which template to render,
// for which members, into which file, and what to run afterwards.
type Spec struct {
	// Name identifies the block in logs, errors and Status; it defaults to
	// Template. Names must be unique within a Runner.
	Name string
	// Template is a built-in template name (see Builtins) or the path of a
	// user text/template file. Anything that is not a built-in name is read
	// as a file.
	Template string
	// Destination is the absolute path of the file to write. Its directory
	// must exist and be writable when the block is compiled.
	Destination string
	// Filter selects the members the template sees as .Members. The zero
	// Filter selects every member of the view, whatever its status.
	Filter Filter
	// Mode is the file's permission bits; zero means 0644.
	Mode os.FileMode
	// Owner is the user name or numeric uid that owns the file; empty
	// leaves the owner of the writing process.
	Owner string
	// Group is the group name or numeric gid of the file; empty leaves the
	// group of the writing process.
	Group string
	// ReloadCommand runs through the Runner's Exec (default "sh -c") after
	// the file content changed. Empty means no command.
	ReloadCommand string
	// ReloadTimeout bounds one run of ReloadCommand; zero means 30s.
	ReloadTimeout time.Duration
	// WaitMin is the quiet time after the last change before rendering
	// (debounce, as consul-template's wait min). Zero renders at once.
	WaitMin time.Duration
	// WaitMax caps the debounce: a render is due at most WaitMax after the
	// first change of a burst, even if changes keep coming (consul-template's
	// wait max). Zero means 4 x WaitMin. It must not be below WaitMin.
	WaitMax time.Duration
	// Stable is how long the target's view must stay unchanged before any
	// render (Anubis' stability signal). It is checked in addition to the
	// debounce, so under constant churn nothing is rewritten.
	Stable time.Duration
}

// Filter selects members of the view. Every non-empty field must match.
type Filter struct {
	// Status lists the accepted states; empty accepts all four.
	Status []membership.Status
	// Role, when set, must equal the member's "role" tag.
	Role string
	// Tags must all be present on the member with equal values.
	Tags map[string]string
}

// Spec defaults applied by Compile to zero fields.
const (
	// DefaultMode is the file mode when Spec.Mode is zero.
	DefaultMode os.FileMode = 0o644
	// DefaultReloadTimeout bounds a reload command when Spec.ReloadTimeout
	// is zero.
	DefaultReloadTimeout = 30 * time.Second
)

// DefaultSpec returns a Spec with the recommended timing: 2s of quiet
// (at most 20s after the first change) and a view unchanged for 5s. The
// caller sets Name, Template, Destination and the rest.
func DefaultSpec() Spec {
	return Spec{
		Mode:          DefaultMode,
		ReloadTimeout: DefaultReloadTimeout,
		WaitMin:       2 * time.Second,
		WaitMax:       20 * time.Second,
		Stable:        5 * time.Second,
	}
}

// withDefaults fills the zero fields that have a documented default.
func (s Spec) withDefaults() Spec {
	if s.Name == "" {
		s.Name = s.Template
	}
	if s.Mode == 0 {
		s.Mode = DefaultMode
	}
	if s.ReloadTimeout == 0 {
		s.ReloadTimeout = DefaultReloadTimeout
	}
	if s.WaitMax == 0 {
		s.WaitMax = 4 * s.WaitMin
	}
	return s
}
