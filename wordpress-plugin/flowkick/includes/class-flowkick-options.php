<?php
/**
 * The plugin's three options, their defaults and their sanitizers.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Reads and cleans flowkick_server_url, flowkick_default_key and flowkick_cache_minutes.
 *
 * The sanitizers run on every update_option(), from the settings page or anywhere else,
 * so a stored value is always one the renderer can use.
 */
final class Flowkick_Options {

	const DEFAULT_CACHE_MINUTES = 10;
	const MAX_CACHE_MINUTES     = 1440;

	/**
	 * The server's base URL without a trailing slash, or '' when not set.
	 *
	 * @return string
	 */
	public static function server_url() {
		return (string) get_option( 'flowkick_server_url', '' );
	}

	/**
	 * The key used by shortcodes and blocks that do not name one.
	 *
	 * @return string
	 */
	public static function default_key() {
		return (string) get_option( 'flowkick_default_key', '' );
	}

	/**
	 * How long a fetched fragment is served before the server is asked again.
	 *
	 * @return int Minutes, at least 1.
	 */
	public static function cache_minutes() {
		return max( 1, (int) get_option( 'flowkick_cache_minutes', self::DEFAULT_CACHE_MINUTES ) );
	}

	/**
	 * Creates the options on activation, so the first save from the settings page
	 * sanitizes once (add_option would run the sanitizers a second time).
	 */
	public static function add_defaults() {
		add_option( 'flowkick_server_url', '' );
		add_option( 'flowkick_default_key', '' );
		add_option( 'flowkick_cache_minutes', self::DEFAULT_CACHE_MINUTES );
	}

	/**
	 * Keeps only an http(s) URL; anything else is refused with a settings error.
	 *
	 * @param mixed $value Submitted value.
	 * @return string
	 */
	public static function sanitize_server_url( $value ) {
		$raw = trim( (string) $value );
		$url = esc_url_raw( $raw, array( 'http', 'https' ) );
		if ( '' !== $raw && '' === $url ) {
			return self::refuse( 'flowkick_server_url', '', __( 'The server URL must start with http:// or https://.', 'flowkick' ) );
		}
		return untrailingslashit( $url );
	}

	/**
	 * Keeps only a Flowkick key (sk_… or pk_…); anything else is refused.
	 *
	 * @param mixed $value Submitted value.
	 * @return string
	 */
	public static function sanitize_key( $value ) {
		$key = trim( (string) $value );
		if ( '' !== $key && ! self::is_key( $key ) ) {
			return self::refuse( 'flowkick_default_key', '', __( 'A Flowkick key starts with sk_ (secret) or pk_ (publishable) and has only letters, digits, - and _.', 'flowkick' ) );
		}
		return $key;
	}

	/**
	 * Keeps a whole number of minutes between 1 and a day.
	 *
	 * @param mixed $value Submitted value.
	 * @return int
	 */
	public static function sanitize_cache_minutes( $value ) {
		$minutes = filter_var( trim( (string) $value ), FILTER_VALIDATE_INT );
		if ( false === $minutes ) {
			return self::refuse( 'flowkick_cache_minutes', self::DEFAULT_CACHE_MINUTES, __( 'Cache minutes must be a whole number.', 'flowkick' ) );
		}
		return min( self::MAX_CACHE_MINUTES, max( 1, $minutes ) );
	}

	/**
	 * Whether a string has the shape of a Flowkick key.
	 *
	 * @param string $key Candidate key.
	 * @return bool
	 */
	public static function is_key( $key ) {
		return 1 === preg_match( '/^(sk|pk)_[A-Za-z0-9_-]{1,200}$/', $key );
	}

	/**
	 * Reports a refused value on the settings page and keeps the stored one.
	 * add_settings_error() exists only in wp-admin; elsewhere the refusal is silent.
	 *
	 * @param string     $option   Option name.
	 * @param string|int $fallback Value when the option was never stored.
	 * @param string     $message  Message for the settings page.
	 * @return string|int The option's current value.
	 */
	private static function refuse( $option, $fallback, $message ) {
		if ( function_exists( 'add_settings_error' ) ) {
			add_settings_error( $option, $option . '_invalid', $message );
		}
		return get_option( $option, $fallback );
	}
}
