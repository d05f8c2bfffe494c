// Package zkserver starts a real Apache ZooKeeper 3.8 standalone server for
// conformance tests, so that zkembed's behaviour can be compared with the
// reference implementation from the same test code.
//
// It launches the server from Debian's "zookeeper" package
// (/usr/share/java/zookeeper.jar, whose manifest pulls in the dependency jars
// from /usr/share/java) directly as
//
//	java ... org.apache.zookeeper.server.ZooKeeperServerMain <dir>/zoo.cfg
//
// in a fresh temporary directory, listening only on 127.0.0.1 on a free port.
// No system service, /etc/zookeeper configuration or /var/lib/zookeeper data is
// used. Install the package with .ci/install-zookeeper (or
// "apt-get install -y zookeeper").
//
// The server runs with tickTime=2000, the admin server disabled, all
// four-letter words whitelisted, and the JVM system property
// zookeeper.extendedTypesEnabled=true so TTL nodes can be created. For test
// speed, zookeeper.forceSync=no (no fsync per transaction) is set as well. The
// server's stdout/stderr (slf4j-simple logging) go to [Server.LogFile].
//
// Typical use:
//
//	func TestSomething(t *testing.T) {
//		srv := zkserver.Start(t, zkserver.WithContainerCheckInterval(100*time.Millisecond))
//		conn, _, err := zk.Connect(srv.Servers(), 10*time.Second)
//		...
//	}
//
// Start launches one JVM per call (about half a second to a second on the CI
// machine) and stops it in t.Cleanup. A package with many conformance tests
// should instead use [Shared], which starts a single server per test process,
// and stop it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		zkserver.StopShared()
//		os.Exit(code)
//	}
//
// Tests sharing a server see each other's znodes and sessions, so each must
// work under its own unique path prefix (for example "/"+t.Name()).
//
// Environment variables:
//
//   - ZKEMBED_ZK_ADDR: if set (host:port), Start and Shared launch nothing and
//     return a Server pointing at that address; Stop is then a no-op and
//     Options are ignored (configure that server yourself).
//   - ZKEMBED_ZK_REQUIRED: if set to a non-empty value other than "0", a
//     missing java or ZooKeeper installation fails the test instead of
//     skipping it (for CI, so conformance tests cannot silently vanish).
//   - ZKEMBED_ZK_CLASSPATH: overrides the Java classpath used to run the
//     server (default /usr/share/java/zookeeper.jar plus slf4j-simple), for
//     non-Debian installs, e.g. "/opt/zookeeper/lib/*".
//   - JAVA_HOME: if set, $JAVA_HOME/bin/java is used instead of java from PATH.
//
// On Linux the JVM is started with a parent-death signal, so it is killed even
// if the test binary exits without running its cleanups (panic, timeout,
// forgotten StopShared).
package zkserver
