"""A real WordPress on 127.0.0.1 for the plugin tests, built from Debian's packages.

    MariaDB    a private mariadbd: its own datadir, socket and loopback port
    WordPress  a private copy of /usr/share/wordpress with its own wp-config.php, served
               by `php -S` with several workers (one worker deadlocks on any request
               WordPress makes to itself), installed with wp_install() from the PHP CLI

Nothing on the system is changed: the only shared thing is the package install, which
`scripts/install-test-deps.sh` does when a package is missing. WordPress may only
talk to 127.0.0.1 (WP_HTTP_BLOCK_EXTERNAL), so no test sends traffic anywhere else.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
WORDPRESS_SOURCE = Path("/usr/share/wordpress")
ADMIN = ("admin", "admin-test-password")
PLUGIN_FILE = "flowkick/flowkick.php"
_RESULT_MARK = "\n--flowkick-php-result--\n"


def ensure_installed() -> None:
    """Installs WordPress, PHP and MariaDB from Debian's packages when any is missing."""
    needed = [shutil.which("php"), shutil.which("mariadbd"), shutil.which("mariadb-install-db"),
              (WORDPRESS_SOURCE / "wp-load.php").is_file() or None,
              (WORDPRESS_SOURCE / "wp-content/themes/twentytwentythree").is_dir() or None]
    if None in needed:
        subprocess.run(["bash", str(REPO / "scripts/install-test-deps.sh")], check=True)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Returns once something accepts connections on the port; raises with the log if the
    process died or never got there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{process.args[0]} did not listen on {port}:\n{log.read_text(errors='replace')[-3000:]}")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stops a daemon started in its own session, with every child it forked."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    else:
        _kill_leftovers(process.pid)


def _kill_leftovers(group: int) -> None:
    """php -S workers outlive a dead master and keep the port: end that group too."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


class MariaDB:
    """A private MariaDB server for one test session, with one database for WordPress."""

    database = "wordpress"
    user = "wordpress"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.socket = root / "mariadb.sock"
        self.log = root / "mariadb.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        datadir = self.root / "data"
        datadir.mkdir(parents=True)
        subprocess.run(["mariadb-install-db", "--no-defaults", *self._user(), f"--datadir={datadir}",
                        "--skip-test-db", "--auth-root-authentication-method=socket"],
                       check=True, capture_output=True)
        self._process = subprocess.Popen(
            ["mariadbd", "--no-defaults", *self._user(), f"--datadir={datadir}", f"--socket={self.socket}",
             f"--pid-file={self.root / 'mariadb.pid'}", f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--log-error={self.log}", "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0",
             "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port, self._process, self.log)
        self.sql(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4; "
                 f"CREATE USER '{self.user}'@'127.0.0.1' IDENTIFIED BY '{self.password}'; "
                 f"GRANT ALL ON {self.database}.* TO '{self.user}'@'127.0.0.1';")

    def sql(self, statements: str) -> str:
        """Runs SQL as root over the private socket."""
        done = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-e", statements],
                              check=True, capture_output=True, text=True)
        return done.stdout

    def stop(self) -> None:
        if self._process is not None:
            stop_process_group(self._process)

    @staticmethod
    def _user() -> list[str]:
        """mariadbd refuses to run as root unless told to."""
        return ["--user=root"] if os.geteuid() == 0 else []


class WordPress:
    """A private WordPress site on http://127.0.0.1:PORT over the given database."""

    def __init__(self, root: Path, database: MariaDB) -> None:
        self.root = root
        self.tree = root / "wp"
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.debug_log = root / "debug.log"
        self.server_log = root / "php-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run(["cp", "-RL", str(WORDPRESS_SOURCE), str(self.tree)], check=True)
        (self.tree / "wp-config.php").write_text(self._config())
        (self.root / "router.php").write_text(_ROUTER)
        (self.root / "cli.php").write_text(_CLI)
        self._install()
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        with self.server_log.open("wb") as log:
            self._process = subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.tree), str(self.root / "router.php")],
                cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self._process, self.server_log)

    def stop(self) -> None:
        if self._process is not None:
            stop_process_group(self._process)
        from tests.support.logcheck import LOG_LINES  # here, not on top: that plugin loads after this one

        for log in (self.server_log, self.debug_log):  # into the session's check that no key is logged
            if log.exists():
                LOG_LINES.extend(log.read_text(errors="replace"))

    def php(self, code: str, *args: Any, installing: bool = False) -> Any:
        """Runs PHP inside WordPress (wp-load.php) and returns what the code `return`s.

        The code sees the arguments as `$args`, passed as JSON, so no value is ever
        pasted into PHP source.
        """
        env = {**os.environ, "FLOWKICK_WP_ROOT": str(self.tree), "FLOWKICK_WP_HOST": f"127.0.0.1:{self.port}",
               "FLOWKICK_WP_ARGS": base64.b64encode(json.dumps(args).encode()).decode(),
               "FLOWKICK_WP_INSTALLING": "1" if installing else ""}
        done = subprocess.run(["php", str(self.root / "cli.php")], input=code, env=env, capture_output=True,
                              text=True, cwd=self.tree)
        if done.returncode != 0 or _RESULT_MARK not in done.stdout:
            raise RuntimeError(f"PHP failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.rsplit(_RESULT_MARK, 1)[1])

    def install_plugin(self, zip_bytes: bytes) -> None:
        """Installs a plugin zip the way Plugins → Upload does, then activates it."""
        package = self.root / "plugin-upload.zip"
        package.write_bytes(zip_bytes)
        problem = self.php(_INSTALL_PLUGIN, str(package), PLUGIN_FILE)
        if problem:
            raise RuntimeError(f"plugin install failed: {problem}")

    def set_option(self, name: str, value: Any) -> Any:
        """update_option() (so the plugin's sanitizers run); returns the stored value."""
        return self.php("update_option( $args[0], $args[1] ); return get_option( $args[0] );", name, value)

    def option(self, name: str) -> Any:
        return self.php("return get_option( $args[0] );", name)

    def create_page(self, title: str, content: str) -> str:
        """Publishes a page as the admin and returns its URL."""
        return self.php(_CREATE_PAGE, title, content)

    def create_user(self, login: str, password: str, role: str) -> None:
        self.php("return wp_insert_user( array( 'user_login' => $args[0], 'user_pass' => $args[1], "
                 "'role' => $args[2], 'user_email' => $args[0] . '@example.com' ) );", login, password, role)

    def delete_transients(self, prefix: str) -> int:
        """Deletes every transient whose name starts with prefix: what expiry does."""
        return self.php(_DELETE_TRANSIENTS, prefix)

    def login(self, client: httpx.Client, user: str, password: str) -> None:
        """Logs an httpx client in through wp-login.php, as a browser does."""
        client.cookies.set("wordpress_test_cookie", "WP Cookie check", domain="127.0.0.1")
        answer = client.post(f"{self.url}/wp-login.php", data={
            "log": user, "pwd": password, "wp-submit": "Log In", "testcookie": "1",
            "redirect_to": f"{self.url}/wp-admin/"})
        if answer.status_code != 302:
            raise RuntimeError(f"login as {user} failed with {answer.status_code}")

    def plugin_log_lines(self, start: int = 0) -> list[str]:
        """debug.log lines about the plugin's own files (core's deprecations are noise)."""
        if not self.debug_log.exists():
            return []
        with self.debug_log.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", errors="replace")
        return [line for line in text.splitlines() if "/plugins/flowkick/" in line]

    def log_size(self) -> int:
        return self.debug_log.stat().st_size if self.debug_log.exists() else 0

    def _install(self) -> None:
        self.php(_INSTALL_SITE, "Flowkick test site", *ADMIN, installing=True)

    def _config(self) -> str:
        salts = "\n".join(f"define( '{name}', '{secrets.token_hex(32)}' );" for name in (
            "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
            "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
        return _CONFIG.format(db=self.database, url=self.url, debug_log=self.debug_log, salts=salts)


@contextmanager
def running_wordpress(root: Path) -> Iterator[WordPress]:
    """A started database and site, both stopped however the block ends."""
    ensure_installed()
    with ExitStack() as stack:
        database = MariaDB(root / "mariadb")
        stack.callback(database.stop)
        database.start()
        site = WordPress(root, database)
        stack.callback(site.stop)
        site.start()
        yield site


@pytest.fixture(scope="session")
def wordpress_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    """One WordPress for the session; the plugin tests install the plugin into it."""
    with running_wordpress(tmp_path_factory.mktemp("wordpress")) as site:
        yield site


_CONFIG = """<?php
define( 'DB_NAME', '{db.database}' );
define( 'DB_USER', '{db.user}' );
define( 'DB_PASSWORD', '{db.password}' );
define( 'DB_HOST', '{db.host}' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', '{debug_log}' );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISABLE_WP_CRON', true );
define( 'FS_METHOD', 'direct' );
define( 'WP_ENVIRONMENT_TYPE', 'local' );
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""

_ROUTER = """<?php
// Existing files and folders as they are; every other path to WordPress (pretty permalinks).
$path = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( is_file( $_SERVER['DOCUMENT_ROOT'] . $path ) || is_dir( $_SERVER['DOCUMENT_ROOT'] . $path ) ) {
	return false;
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
"""

_CLI = f"""<?php
// Runs the PHP on stdin inside WordPress; prints what it returns as JSON after a marker.
$_SERVER['HTTP_HOST']   = getenv( 'FLOWKICK_WP_HOST' );
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
if ( getenv( 'FLOWKICK_WP_INSTALLING' ) ) {{
	define( 'WP_INSTALLING', true );
}}
$flowkick_args = json_decode( base64_decode( getenv( 'FLOWKICK_WP_ARGS' ) ), true );
require getenv( 'FLOWKICK_WP_ROOT' ) . '/wp-load.php';
$flowkick_result = ( static function ( $args ) {{
	return eval( stream_get_contents( STDIN ) );
}} )( $flowkick_args );
echo {json.dumps(_RESULT_MARK)} . wp_json_encode( $flowkick_result );
"""

_INSTALL_SITE = """
function wp_new_blog_notification() {}
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_install( $args[0], $args[1], $args[1] . '@example.com', true, '', wp_slash( $args[2] ) );
update_option( 'permalink_structure', '/%postname%/' );
return true;
"""

_INSTALL_PLUGIN = """
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
wp_set_current_user( 1 );
$skin     = new Automatic_Upgrader_Skin();
$upgrader = new Plugin_Upgrader( $skin );
$done     = $upgrader->install( $args[0] );
if ( true !== $done ) {
	return array( 'install' => is_wp_error( $done ) ? $done->get_error_message() : $skin->get_upgrade_messages() );
}
$activated = activate_plugin( $args[1] );
return is_wp_error( $activated ) ? $activated->get_error_message() : null;
"""

_CREATE_PAGE = """
wp_set_current_user( 1 );
$id = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => $args[0], 'post_content' => $args[1] ), true );
return is_wp_error( $id ) ? $id->get_error_message() : get_permalink( $id );
"""

_DELETE_TRANSIENTS = """
global $wpdb;
$like = $wpdb->esc_like( '_transient_' . $args[0] ) . '%';
$names = $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $like ) );
foreach ( $names as $name ) {
	delete_transient( substr( $name, strlen( '_transient_' ) ) );
}
return count( $names );
"""
