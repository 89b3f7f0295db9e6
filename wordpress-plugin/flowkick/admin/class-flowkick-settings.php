<?php
/**
 * The Settings → Flowkick page, built on the Settings API.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Registers the three options and the page that edits them. options.php checks the
 * nonce printed by settings_fields() and the manage_options capability on save; the
 * page itself checks the capability again before printing anything.
 */
final class Flowkick_Settings {

	const PAGE  = 'flowkick';
	const GROUP = 'flowkick';

	/**
	 * Hooks the page, the settings and the "Settings" link on the Plugins screen.
	 * The options are registered on every request, not only in wp-admin, so their
	 * sanitizers run whoever calls update_option().
	 */
	public static function register() {
		add_action( 'init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_init', array( __CLASS__, 'add_fields' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( FLOWKICK_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * Adds Settings → Flowkick for users who can manage options.
	 */
	public static function add_page() {
		add_options_page( __( 'Flowkick', 'flowkick' ), __( 'Flowkick', 'flowkick' ), 'manage_options', self::PAGE, array( __CLASS__, 'render_page' ) );
	}

	/**
	 * Registers each option with its sanitizer.
	 */
	public static function register_settings() {
		$sanitizers = array(
			'flowkick_server_url'    => array( 'string', 'sanitize_server_url' ),
			'flowkick_default_key'   => array( 'string', 'sanitize_key' ),
			'flowkick_cache_minutes' => array( 'integer', 'sanitize_cache_minutes' ),
		);
		foreach ( $sanitizers as $option => $setting ) {
			register_setting(
				self::GROUP,
				$option,
				array(
					'type'              => $setting[0],
					'sanitize_callback' => array( 'Flowkick_Options', $setting[1] ),
					'show_in_rest'      => false,
				)
			);
		}
	}

	/**
	 * Adds the page's section and one field per option.
	 */
	public static function add_fields() {
		add_settings_section( 'flowkick_server', __( 'Flowkick server', 'flowkick' ), array( __CLASS__, 'section_intro' ), self::PAGE );
		$fields = array(
			'flowkick_server_url'    => array( __( 'Server URL', 'flowkick' ), 'field_server_url' ),
			'flowkick_default_key'   => array( __( 'Default secret key', 'flowkick' ), 'field_default_key' ),
			'flowkick_cache_minutes' => array( __( 'Cache minutes', 'flowkick' ), 'field_cache_minutes' ),
		);
		foreach ( $fields as $option => $field ) {
			add_settings_field( $option, $field[0], array( __CLASS__, $field[1] ), self::PAGE, 'flowkick_server', array( 'label_for' => $option ) );
		}
	}

	/**
	 * Prints the page; the capability is checked here too, not only by the menu.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		?>
		<div class="wrap">
			<h1><?php echo esc_html( get_admin_page_title() ); ?></h1>
			<form action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>" method="post">
				<?php
				settings_fields( self::GROUP );
				do_settings_sections( self::PAGE );
				submit_button();
				?>
			</form>
		</div>
		<?php
	}

	/**
	 * Explains the section and the shortcode.
	 */
	public static function section_intro() {
		echo '<p>' . esc_html__( 'Where your Flowkick server runs and which key the [flowkick] shortcode and the Flowkick feed block use when they do not name one. Feeds are fetched by WordPress and cached, so the page shows them without JavaScript.', 'flowkick' ) . '</p>';
	}

	/**
	 * The server URL field.
	 */
	public static function field_server_url() {
		printf(
			'<input type="url" id="flowkick_server_url" name="flowkick_server_url" value="%s" class="regular-text code" placeholder="https://flowkick.example.com">',
			esc_attr( Flowkick_Options::server_url() )
		);
	}

	/**
	 * The default key field; a password input, since the secret key stays on the server.
	 */
	public static function field_default_key() {
		printf(
			'<input type="password" id="flowkick_default_key" name="flowkick_default_key" value="%s" class="regular-text code" autocomplete="off" spellcheck="false"><p class="description">%s</p>',
			esc_attr( Flowkick_Options::default_key() ),
			esc_html__( 'Your secret key (sk_…). It is sent only from this server to Flowkick, never to visitors.', 'flowkick' )
		);
	}

	/**
	 * The cache minutes field.
	 */
	public static function field_cache_minutes() {
		printf(
			'<input type="number" id="flowkick_cache_minutes" name="flowkick_cache_minutes" value="%d" min="1" max="%d" step="1" class="small-text"><p class="description">%s</p>',
			(int) Flowkick_Options::cache_minutes(),
			(int) Flowkick_Options::MAX_CACHE_MINUTES,
			esc_html__( 'How long a fetched feed is shown before WordPress asks the server again. When the server is unreachable the last copy stays on the page.', 'flowkick' )
		);
	}

	/**
	 * Adds a Settings link next to Deactivate on the Plugins screen.
	 *
	 * @param string[] $links Action links.
	 * @return string[]
	 */
	public static function action_links( $links ) {
		$url = admin_url( 'options-general.php?page=' . self::PAGE );
		array_unshift( $links, sprintf( '<a href="%s">%s</a>', esc_url( $url ), esc_html__( 'Settings', 'flowkick' ) ) );
		return $links;
	}
}
