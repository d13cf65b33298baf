package agent

// Version is the farmhand version. Release builds set it with
// -ldflags "-X github.com/farmhand/farmhand/agent.Version=v1.2.3".
var Version = "0.1.0-dev"
