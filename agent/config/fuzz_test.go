package config

import (
	"os"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic, and a
// config it accepts must survive Validate, Merge, String, Redacted and
// DiffReload without panicking either.
func FuzzDecode(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		minimalHCL,
		"",
		"cluster = \"farm\"\ntags = { a = 1, b = true }\n",
		"gossip {\n  keys = [\"" + testKey(16, 1) + "\", null]\n  port = 1e400\n}\n",
		"coordinator {\n  group \"a\" {\n  }\n  group \"a\" {\n  }\n}\n",
		"render \"x\" {\n  mode = \"0777\"\n  status = []\n  wait_min = \"-1s\"\n}\n",
		"socket_mode = 0660\nleave_timeout = [\"1s\"]\n",
		"log_level = \"${upper(\"x\")}\"\n",
		"identity {}\nidentity {}\nrender {}\n",
	} {
		f.Add([]byte(seed))
	}
	base := Default()
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Decode("fuzz.hcl", src)
		if err != nil {
			if c != nil {
				t.Fatalf("Decode returned a config and an error")
			}
			return
		}
		_ = c.Validate()
		_ = c.String()
		_ = c.Redacted()
		merged := base.Merge(c)
		_, _ = DiffReload(base, merged)
	})
}
