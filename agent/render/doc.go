// Package render turns the member view into peer-list files (Hadoop, HDFS,
// YARN, Tomcat, /etc/hosts, JSON or a user text/template), written
// atomically once the view is stable, followed by a reload command.
package render
