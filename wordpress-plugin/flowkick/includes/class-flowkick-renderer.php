<?php
/**
 * Turns shortcode or block attributes into the feed's HTML.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The one renderer behind [flowkick] and the flowkick/feed block.
 *
 * Visitors get the feed, or nothing at all when there is no feed to show; logged-in
 * editors also get a short notice saying what went wrong and how to fix it.
 */
final class Flowkick_Renderer {

	const ATTRIBUTES = array(
		'platform' => '',
		'key'      => '',
		'layout'   => '',
		'theme'    => '',
		'limit'    => '',
		'handle'   => '',
		'lang'     => '',
	);

	/**
	 * The feed's HTML for a set of attributes, escaped and ready to print.
	 *
	 * @param array $atts Shortcode or block attributes; unknown ones are ignored.
	 * @return string
	 */
	public static function render( array $atts ) {
		$atts   = self::clean( shortcode_atts( self::ATTRIBUTES, $atts, 'flowkick' ) );
		$server = Flowkick_Options::server_url();
		if ( '' === $server || '' === $atts['platform'] || '' === $atts['key'] ) {
			return self::notice( 'not_configured' );
		}
		$feed = Flowkick_Fetcher::get( $server, $atts['platform'], $atts['key'], self::display_options( $atts ) );
		return self::notice( $feed['error'] ) . self::feed( $feed, $server, $atts );
	}

	/**
	 * The fetched fragment with the server's stylesheet, else the widget fallback.
	 *
	 * @param array                 $feed   Flowkick_Fetcher::get() result.
	 * @param string                $server Server base URL.
	 * @param array<string, string> $atts   Clean attributes.
	 * @return string
	 */
	private static function feed( array $feed, $server, array $atts ) {
		if ( '' === $feed['html'] ) {
			return self::widget( $server, $atts, $feed['error'] );
		}
		wp_enqueue_style( 'flowkick-embed' );
		return Flowkick_Fragment::sanitize( $feed['html'] );
	}

	/**
	 * Attributes reduced to the characters each may hold; the key falls back to the
	 * default key from the settings.
	 *
	 * @param array $atts Attributes with every known name present.
	 * @return array<string, string>
	 */
	private static function clean( array $atts ) {
		$key = preg_replace( '/[^A-Za-z0-9_-]/', '', (string) $atts['key'] );
		return array(
			'platform' => sanitize_key( (string) $atts['platform'] ),
			'key'      => '' === $key ? Flowkick_Options::default_key() : $key,
			'layout'   => sanitize_key( (string) $atts['layout'] ),
			'theme'    => sanitize_key( (string) $atts['theme'] ),
			'limit'    => absint( $atts['limit'] ) ? (string) absint( $atts['limit'] ) : '',
			'handle'   => sanitize_text_field( (string) $atts['handle'] ),
			'lang'     => sanitize_key( (string) $atts['lang'] ),
		);
	}

	/**
	 * Layout, theme, limit, handle and lang, the empty ones left out so the server's
	 * defaults apply.
	 *
	 * @param array<string, string> $atts Clean attributes.
	 * @return array<string, string>
	 */
	private static function display_options( array $atts ) {
		return array_filter( array_diff_key( $atts, array_flip( array( 'platform', 'key' ) ) ), 'strlen' );
	}

	/**
	 * The widget, for a feed that was never fetched while the server is unreachable or
	 * still fetching: a placeholder holding the feed's space and the script, so the page
	 * does not move when the script arrives. Only with a publishable key: a secret key
	 * must never reach a visitor's browser, so a secret-key feed shows nothing instead.
	 *
	 * @param string                $server Server base URL.
	 * @param array<string, string> $atts   Clean attributes.
	 * @param string                $error  Error code of the last attempt.
	 * @return string
	 */
	private static function widget( $server, array $atts, $error ) {
		$temporary = in_array( $error, array( 'unreachable', 'pending' ), true ) || 0 === strpos( $error, 'http_5' );
		if ( ! $temporary || 0 !== strpos( $atts['key'], 'pk_' ) ) {
			return '';
		}
		$data = array(
			'platform' => $atts['platform'],
			'key'      => $atts['key'],
		) + self::display_options( $atts );
		$html = '<div data-flowkick';
		foreach ( $data as $name => $value ) {
			$html .= sprintf( ' data-%s="%s"', esc_attr( $name ), esc_attr( $value ) );
		}
		$html .= sprintf( '><div style="%s"></div></div>', esc_attr( self::spacer( $atts ) ) );
		return $html . wp_get_script_tag(
			array(
				'src'   => esc_url( $server . '/widget.js' ),
				'async' => true,
			)
		);
	}

	/**
	 * The placeholder's height as CSS: a share of its width plus pixels, from the box
	 * sizes of the server's embed.css (the server's snippets.py computes the same; a test
	 * keeps them in step). Attributes the shortcode lacks keep the server's defaults.
	 *
	 * @param array<string, string> $atts Clean attributes.
	 * @return string
	 */
	private static function spacer( array $atts ) {
		$aliases  = array(
			'google'      => 'google_reviews',
			'google_maps' => 'google_reviews',
			'x'           => 'twitter',
		);
		$platform = isset( $aliases[ $atts['platform'] ] ) ? $aliases[ $atts['platform'] ] : $atts['platform'];
		$layouts  = array(
			'google_reviews' => 'cards',
			'twitter'        => 'list',
			'facebook'       => 'list',
		);
		$ratios   = array(
			'tiktok'  => 16 / 9,
			'youtube' => 9 / 16,
		);
		$layout   = '' !== $atts['layout'] ? $atts['layout'] : ( isset( $layouts[ $platform ] ) ? $layouts[ $platform ] : 'grid' );
		$n        = '' !== $atts['limit'] ? min( 50, (int) $atts['limit'] ) : 12;
		$cols     = 'carousel' === $layout ? 4 : 3;
		$rows     = 'carousel' === $layout ? 1 : (int) ceil( $n / $cols );
		$fixed    = 24 + 56; // Padding and header.
		if ( 'badge' === $layout ) {
			return 'padding-top:80px';
		}
		if ( 'list' === $layout || 'cards' === $layout ) {
			$body = 'list' === $layout ? $n * 96 + ( $n - 1 ) * 8 : $rows * 200 + ( $rows - 1 ) * 8;
			return sprintf( 'padding-top:%dpx', $fixed + $body );
		}
		$share  = $rows * ( isset( $ratios[ $platform ] ) ? $ratios[ $platform ] : 1 ) / $cols;
		$pixels = $fixed + ( $rows - 1 ) * 8 - $share * ( 24 + ( $cols - 1 ) * 8 );
		return sprintf( 'padding-top:calc(%s%% %s %spx)', self::number( 100 * $share ), $pixels < 0 ? '-' : '+', self::number( abs( $pixels ) ) );
	}

	/**
	 * A CSS number with at most two decimals and no trailing zeros.
	 *
	 * @param float $value Number.
	 * @return string
	 */
	private static function number( $value ) {
		return rtrim( rtrim( sprintf( '%.2F', $value ), '0' ), '.' );
	}

	/**
	 * A quiet notice for logged-in editors; visitors never see one.
	 *
	 * @param string $error Error code, '' for none.
	 * @return string
	 */
	private static function notice( $error ) {
		if ( '' === $error || ! current_user_can( 'edit_posts' ) ) {
			return '';
		}
		wp_enqueue_style( 'flowkick' );
		return sprintf(
			'<p class="flowkick-notice" role="status" data-flowkick-error="%1$s">%2$s <small>%3$s</small></p>',
			esc_attr( $error ),
			esc_html( self::message( $error ) ),
			esc_html__( 'Only logged-in editors see this notice.', 'flowkick' )
		);
	}

	/**
	 * What an editor should know about an error code. The server's codes are grouped:
	 * every bad_* is a refused attribute, and several codes mean the same fix.
	 *
	 * @param string $error Error code.
	 * @return string
	 */
	private static function message( $error ) {
		$groups = array(
			'missing_key'        => 'unknown_key',
			'client_inactive'    => 'forbidden',
			'origin_not_allowed' => 'forbidden',
			'not_found'          => 'source_not_found',
		);
		$group  = 0 === strpos( $error, 'bad_' ) ? 'bad_parameter' : ( isset( $groups[ $error ] ) ? $groups[ $error ] : $error );
		switch ( $group ) {
			case 'not_configured':
				return __( 'Flowkick: set the server URL and a default key in Settings → Flowkick, and give the shortcode or block a platform.', 'flowkick' );
			case 'unknown_key':
				return __( 'Flowkick: the server does not know this key. Check the key in the shortcode or block, or the default key in Settings → Flowkick.', 'flowkick' );
			case 'forbidden':
				return __( 'Flowkick: the server refused this key (the client may be inactive).', 'flowkick' );
			case 'unknown_platform':
				return __( 'Flowkick: unknown platform. Use instagram, tiktok, google_reviews, twitter, youtube or facebook.', 'flowkick' );
			case 'source_not_found':
				return __( 'Flowkick: this key tracks no such account. Check the platform and the handle.', 'flowkick' );
			case 'bad_parameter':
				return __( 'Flowkick: the server refused one of the attributes (layout, theme, limit, handle or lang).', 'flowkick' );
			case 'unreachable':
				return __( 'Flowkick: the server could not be reached. Visitors see the last copy fetched, if there is one.', 'flowkick' );
			case 'pending':
				return __( 'Flowkick: the server is fetching this feed for the first time; it appears within a minute.', 'flowkick' );
		}
		/* translators: %s: error code from the Flowkick server. */
		return sprintf( __( 'Flowkick: the server answered with an error (%s). Visitors see the last copy fetched, if there is one.', 'flowkick' ), $error );
	}
}
