# /etc/farmhand/farmhand.hcl: the farmhand agent's configuration.
#
# Installed by the farmhand package as a config file: your changes are kept
# on upgrade. Nothing is set here yet, so an agent started before you
# configure it exits at once with one line per missing setting (cluster,
# registry.bucket, gossip key) instead of joining anything.
#
# Set them below, or in drop-ins under /etc/farmhand/conf.d/ (*.hcl, read in
# lexical order after this file; cloud-init can write one per instance).
# Files that hold keys should be mode 0640, owner root, group farmhand.
#
# Every setting, with its default: /usr/share/doc/farmhand/examples/farmhand.hcl
# and docs/configuration.md.

# The cluster: the gossip label and part of every registry key. Required.
#cluster = "farm"

# This node's role: the member tag "role" that render blocks and the
# coordinator select on.
#role = "worker"

# The S3 rendezvous. Required: the bucket.
#registry {
#  bucket = "my-farm-bucket"
#  prefix = "farmhand"
#}

# The gossip encryption key, one base64 key per line ("farmhand keygen"
# makes one). Deliver it at boot; do not bake it into a shared image.
#gossip {
#  key_file = "/etc/farmhand/gossip.key"
#}
