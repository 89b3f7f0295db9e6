<?php
/**
 * Wires the plugin into WordPress: one place that lists every hook it uses.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The plugin's hooks. The shortcode and the block share one renderer.
 */
final class Flowkick {

	/**
	 * Registers every hook; called once from the bootstrap file.
	 */
	public static function run() {
		add_action( 'init', array( __CLASS__, 'register_assets' ) );
		add_action( 'init', array( __CLASS__, 'register_block' ) );
		add_action( 'enqueue_block_editor_assets', array( __CLASS__, 'enqueue_editor_styles' ) );
		add_shortcode( 'flowkick', array( __CLASS__, 'shortcode' ) );
		Flowkick_Settings::register();
	}

	/**
	 * Registers the stylesheets: the server's embed.css (fragments are fetched with
	 * css=none) and the plugin's own few rules for the editor notice.
	 */
	public static function register_assets() {
		$server = Flowkick_Options::server_url();
		if ( '' !== $server ) {
			wp_register_style( 'flowkick-embed', $server . '/embed.css', array(), null ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion -- the server versions its own stylesheet.
		}
		wp_register_style( 'flowkick', plugins_url( 'public/css/flowkick.css', FLOWKICK_FILE ), array(), FLOWKICK_VERSION );
	}

	/**
	 * Registers the feed block from its block.json; it renders through render.php.
	 */
	public static function register_block() {
		register_block_type( FLOWKICK_DIR . 'blocks/feed' );
	}

	/**
	 * Lets the block's server-side preview in the editor look like the page.
	 */
	public static function enqueue_editor_styles() {
		wp_enqueue_style( 'flowkick-embed' );
		wp_enqueue_style( 'flowkick' );
	}

	/**
	 * The [flowkick] shortcode. WordPress passes '' rather than an array when the
	 * shortcode has no attributes.
	 *
	 * @param array|string $atts Shortcode attributes.
	 * @return string HTML, already escaped.
	 */
	public static function shortcode( $atts ) {
		return Flowkick_Renderer::render( is_array( $atts ) ? $atts : array() );
	}
}
