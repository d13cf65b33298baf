// Package agent is the farmhand daemon, and only its wiring: each lifecycle
// part (boot loop, snapshot writer, watchdog, metrics and local API
// servers, render and coordinator runners, reloader) is a small type that
// owns its state, its start and its stop. agent.go starts them in the order
// of the data flow and stops them in the order Agent.stop writes down.
package agent
