package zkserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables understood by this package; see the package
// documentation.
const (
	// EnvAddr names the environment variable that points Start and Shared at
	// an already running server instead of launching one.
	EnvAddr = "ZKEMBED_ZK_ADDR"
	// EnvRequired names the environment variable that turns "ZooKeeper not
	// installed" from a skip into a test failure.
	EnvRequired = "ZKEMBED_ZK_REQUIRED"
	// EnvClasspath names the environment variable that overrides the Java
	// classpath used to run the server.
	EnvClasspath = "ZKEMBED_ZK_CLASSPATH"
)

// DefaultStartTimeout is how long Start waits for a launched server to answer
// the "srvr" four-letter word before failing the test.
const DefaultStartTimeout = 30 * time.Second

const (
	debianJar      = "/usr/share/java/zookeeper.jar"
	debianSlf4jLog = "/usr/share/java/slf4j-simple.jar"
	mainClass      = "org.apache.zookeeper.server.ZooKeeperServerMain"
	skipMessage    = "real ZooKeeper not installed: apt-get install -y zookeeper, or set " + EnvAddr
)

// Server is a running ZooKeeper server used by a test.
type Server struct {
	// Addr is the client address, "127.0.0.1:port" for a launched server or
	// the value of ZKEMBED_ZK_ADDR for an external one.
	Addr string
	// Dir is the server's working directory (config, data and log), empty
	// for an external server.
	Dir string
	// LogFile is the file receiving the server's stdout and stderr, empty
	// for an external server.
	LogFile string

	external bool
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd.Wait has returned
	waitErr  error         // cmd.Wait's result, valid after exited is closed
	stopOnce sync.Once
}

// Option customises a server launched by Start.
type Option func(*config)

type config struct {
	cfg          map[string]string // zoo.cfg entries
	sysProps     map[string]string // JVM -D system properties
	startTimeout time.Duration
}

// WithContainerCheckInterval sets how often the server looks for empty
// container znodes and expired TTL znodes to delete (JVM system property
// znode.container.checkIntervalMs; ZooKeeper's default is one minute), so
// tests can observe reaping quickly.
func WithContainerCheckInterval(d time.Duration) Option {
	return WithSystemProperty("znode.container.checkIntervalMs", strconv.FormatInt(d.Milliseconds(), 10))
}

// WithSuperDigest enables the ZooKeeper super user (JVM system property
// zookeeper.DigestAuthenticationProvider.superDigest). digest has the form
// "super:<base64 sha1>", as acl.Digest("super", password) produces it; a client that then
// authenticates with AddAuth("digest", []byte("super:<password>")) bypasses
// all ACL checks.
func WithSuperDigest(digest string) Option {
	return WithSystemProperty("zookeeper.DigestAuthenticationProvider.superDigest", digest)
}

// WithSystemProperty passes -Dkey=value to the server's JVM, overriding the
// package's defaults for the same key.
func WithSystemProperty(key, value string) Option {
	return func(c *config) { c.sysProps[key] = value }
}

// WithConfig sets key=value in the server's zoo.cfg, overriding the package's
// defaults for the same key (for example "maxSessionTimeout"). dataDir,
// clientPort and clientPortAddress are managed by the package and cannot be
// changed.
func WithConfig(key, value string) Option {
	return func(c *config) { c.cfg[key] = value }
}

// WithStartTimeout changes how long Start waits for the server to answer
// (default [DefaultStartTimeout]).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}

func newConfig(opts []Option) *config {
	c := &config{
		cfg: map[string]string{
			"tickTime":                "2000",
			"admin.enableServer":      "false",
			"4lw.commands.whitelist":  "*",
			"maxClientCnxns":          "0", // tests open many sessions from 127.0.0.1
			"autopurge.purgeInterval": "0",
		},
		sysProps: map[string]string{
			"zookeeper.extendedTypesEnabled":        "true",
			"zookeeper.4lw.commands.whitelist":      "*",
			"zookeeper.admin.enableServer":          "false",
			"zookeeper.forceSync":                   "no",   // no fsync per txn: test speed only
			"zookeeper.preAllocSize":                "4096", // KiB; default 64 MiB per txn log
			"zookeeper.jmx.log4j.disable":           "true",
			"java.awt.headless":                     "true",
			"org.slf4j.simpleLogger.showDateTime":   "true",
			"org.slf4j.simpleLogger.dateTimeFormat": "HH:mm:ss.SSS",
		},
		startTimeout: DefaultStartTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// errNotInstalled reports that java or the ZooKeeper jars are missing.
var errNotInstalled = errors.New(skipMessage)

// Start launches a fresh standalone ZooKeeper server in tb.TempDir() on a free
// 127.0.0.1 port, waits until it answers, and registers tb.Cleanup to stop it.
// It skips the test if java or the ZooKeeper jars are not installed (fails it
// instead if ZKEMBED_ZK_REQUIRED is set), and fails it if the server does not
// come up within the start timeout; the error then includes the end of the
// server log.
//
// If ZKEMBED_ZK_ADDR is set, nothing is launched: Start returns a Server for
// that address whose Stop does nothing, and opts are ignored.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		if len(opts) > 0 {
			tb.Logf("zkserver: %s=%s set; options ignored", EnvAddr, addr)
		}
		return &Server{Addr: addr, external: true}
	}
	dir := tb.TempDir() // registered before Stop, so removed after it
	s, err := launch(dir, newConfig(opts))
	if err != nil {
		failOrSkip(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func failOrSkip(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, errNotInstalled) {
		if v := os.Getenv(EnvRequired); v == "" || v == "0" {
			tb.Skip(err.Error())
		}
	}
	tb.Fatalf("zkserver: %v", err)
}

var shared = NewLazy()

// Shared returns the test process's shared server, launching it on first use
// (in a temporary directory of its own, with default options) and reusing it
// afterwards. Call [StopShared] from TestMain after m.Run to stop it.
//
// Tests using Shared see each other's data and sessions: each test must use
// its own unique path prefix (e.g. "/"+t.Name()) and must not rely on global
// state such as the root's child list or the server's session count.
//
// Skipping, failing and ZKEMBED_ZK_ADDR behave as for [Start]. A failed start
// is remembered, so later calls fail at once.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	return shared.Get(tb)
}

// Lazy is a server started on first use with its own options, for a test
// package that needs one configuration (a short tickTime, say) across
// tests: declare it at package level with NewLazy and call its Stop from
// TestMain after m.Run. Skipping, failing and ZKEMBED_ZK_ADDR behave as for
// [Shared].
type Lazy struct {
	opts []Option
	mu   sync.Mutex
	srv  *Server
	dir  string
	err  error
}

// NewLazy returns a Lazy server that will start with opts.
func NewLazy(opts ...Option) *Lazy { return &Lazy{opts: opts} }

// Get starts the server if it has not been started and returns it. A
// failed start is remembered, so later calls fail at once.
func (l *Lazy) Get(tb testing.TB) *Server {
	tb.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		return &Server{Addr: addr, external: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv == nil && l.err == nil {
		dir, err := os.MkdirTemp("", "zkserver-lazy-")
		if err == nil {
			l.srv, err = launch(dir, newConfig(l.opts))
			if err != nil {
				_ = os.RemoveAll(dir)
			} else {
				l.dir = dir
			}
		}
		l.err = err
	}
	if l.err != nil {
		failOrSkip(tb, l.err)
	}
	return l.srv
}

// Stop stops the server if it was started and removes its directory.
func (l *Lazy) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		l.srv.Stop()
	}
	if l.dir != "" {
		_ = os.RemoveAll(l.dir)
	}
	l.srv, l.err, l.dir = nil, nil, ""
}

// StopShared stops the server started by [Shared], if any, and removes its
// directory. Call it from TestMain after m.Run. It is safe to call when Shared
// was never used; a later Shared call starts a new server.
func StopShared() { shared.Stop() }

// Servers returns []string{s.Addr}, the form zk.Connect expects.
func (s *Server) Servers() []string { return []string{s.Addr} }

// Stop kills the server's JVM and waits for it to exit. It is idempotent, and
// a no-op for a server given by ZKEMBED_ZK_ADDR. The data directory is left
// in place (Start's is removed by the testing package).
func (s *Server) Stop() {
	if s.external || s.cmd == nil {
		return
	}
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// FourLetter sends a four-letter-word command (e.g. "srvr", "ruok", "mntr")
// to the server and returns its reply.
func (s *Server) FourLetter(cmd string) (string, error) {
	return fourLetter(s.Addr, cmd, 5*time.Second)
}

func fourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// findInstall returns the java binary and classpath to use.
func findInstall() (java, classpath string, err error) {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		java = filepath.Join(h, "bin", "java")
		if _, err := os.Stat(java); err != nil {
			java = ""
		}
	}
	if java == "" {
		java, err = exec.LookPath("java")
		if err != nil {
			return "", "", fmt.Errorf("%w (java not found: %v)", errNotInstalled, err)
		}
	}
	if cp := os.Getenv(EnvClasspath); cp != "" {
		return java, cp, nil
	}
	if _, err := os.Stat(debianJar); err != nil {
		return "", "", fmt.Errorf("%w (%v)", errNotInstalled, err)
	}
	classpath = debianJar
	if _, err := os.Stat(debianSlf4jLog); err == nil {
		classpath += string(os.PathListSeparator) + debianSlf4jLog
	}
	return java, classpath, nil
}

// launch starts a server in dir, retrying with a new port if the chosen one
// was taken in the meantime.
func launch(dir string, c *config) (*Server, error) {
	java, classpath, err := findInstall()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		s, err := launchOnce(dir, java, classpath, c, attempt)
		if err == nil || !errors.Is(err, errPortInUse) || attempt == 3 {
			return s, err
		}
	}
}

var errPortInUse = errors.New("client port already in use")

// usedPorts holds the ports this process has handed out, so parallel Starts
// in one test binary never race for the same port.
var usedPorts sync.Map

// freePort returns a loopback port that was free a moment ago and that this
// process has not used before.
func freePort() (int, error) {
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, dup := usedPorts.LoadOrStore(port, true); !dup {
			return port, nil
		}
	}
	return 0, errors.New("no unused loopback port found")
}

func launchOnce(dir, java, classpath string, c *config, attempt int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}

	cfg := make(map[string]string, len(c.cfg)+3)
	for k, v := range c.cfg {
		cfg[k] = v
	}
	cfg["dataDir"] = dataDir
	cfg["clientPort"] = strconv.Itoa(port)
	cfg["clientPortAddress"] = "127.0.0.1"
	cfgFile := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgFile, []byte(render(cfg, "")), 0o644); err != nil {
		return nil, err
	}

	logName := "zookeeper.log"
	if attempt > 1 {
		logName = fmt.Sprintf("zookeeper.%d.log", attempt)
	}
	logFile := filepath.Join(dir, logName)
	logf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy

	args := []string{
		"-Xmx256m",
		"-Xss512k",
		"-XX:+UseSerialGC",
		"-XX:TieredStopAtLevel=1",
		"-XX:-UsePerfData",
		"-Xshare:auto",
	}
	keys := sortedKeys(c.sysProps)
	for _, k := range keys {
		args = append(args, "-D"+k+"="+c.sysProps[k])
	}
	args = append(args, "-cp", classpath, mainClass, cfgFile)

	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logf, "# zkserver: %s %s\n# zoo.cfg:\n%s", java, strings.Join(args, " "), render(cfg, "# "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", java, err)
	}
	s := &Server{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Dir:     dir,
		LogFile: logFile,
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(c.startTimeout); err != nil {
		s.Stop()
		tail := logTail(logFile, 40)
		if strings.Contains(tail, "Address already in use") || strings.Contains(tail, "BindException") {
			err = fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return nil, fmt.Errorf("ZooKeeper server on %s did not start: %w\n--- last lines of %s ---\n%s", s.Addr, err, logFile, tail)
	}
	return s, nil
}

// waitReady polls "srvr" until the server reports its mode, the process
// exits, or timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		out, err := fourLetter(s.Addr, "srvr", time.Second)
		if err == nil && strings.Contains(out, "Mode: ") {
			// Make sure it is our server answering, not another one that
			// grabbed the port after freePort released it.
			conf, err := fourLetter(s.Addr, "conf", time.Second)
			if err != nil {
				return fmt.Errorf("conf: %w", err)
			}
			if !strings.Contains(conf, s.Dir) {
				return fmt.Errorf("%w: another server answers on %s", errPortInUse, s.Addr)
			}
			return nil
		}
		if err == nil {
			err = fmt.Errorf("srvr replied %q", strings.TrimSpace(out))
		}
		last = err
		select {
		case <-s.exited:
			return fmt.Errorf("java exited early (%v)", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v (last error: %v)", timeout, last)
		}
	}
}

func render(m map[string]string, prefix string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s%s=%s\n", prefix, k, m[k])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// logTail returns the last n lines of file (at most 16 KiB).
func logTail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
