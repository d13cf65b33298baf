// Package membership wraps hashicorp/memberlist with farmhand's node
// metadata, keyring, cluster label, member view and partition healing.
package membership
