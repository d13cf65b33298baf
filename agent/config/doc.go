// Package config turns an HCL file, a config directory, FARMHAND_* environment
// variables and command-line flags into one validated Config whose errors
// name the file, line and field they come from, and says for each field
// whether a reload applies it live or needs a restart (DiffReload).
package config
