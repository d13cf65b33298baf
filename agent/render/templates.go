package render

import (
	"embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var builtinFS embed.FS

// Builtins returns the names of the built-in templates, sorted.
func Builtins() []string {
	entries, err := builtinFS.ReadDir("templates")
	if err != nil {
		panic("render: embedded templates missing: " + err.Error())
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	sort.Strings(names)
	return names
}

// IsBuiltin reports whether name is a built-in template name.
func IsBuiltin(name string) bool {
	_, err := builtinFS.ReadFile("templates/" + name + ".tmpl")
	return err == nil && !strings.ContainsAny(name, "/.")
}

// parseTemplate parses the built-in template called nameOrPath, or else the
// text/template file at that path. The template is named after its source,
// so parse and execution errors read "template: <name or path>:<line>: ...".
func parseTemplate(nameOrPath string) (*template.Template, error) {
	if nameOrPath == "" {
		return nil, fmt.Errorf("template is empty; set a built-in name (%s) or a file path", joinBuiltins())
	}
	var text []byte
	if IsBuiltin(nameOrPath) {
		b, err := builtinFS.ReadFile("templates/" + nameOrPath + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("built-in template %q: %w", nameOrPath, err)
		}
		text = b
	} else {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("template %q is not a built-in (%s) and cannot be read as a file: %w",
				nameOrPath, joinBuiltins(), err)
		}
		text = b
	}
	t, err := template.New(nameOrPath).Funcs(funcs()).Option("missingkey=zero").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("template does not parse: %w", err)
	}
	return t, nil
}
