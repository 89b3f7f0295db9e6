<?php
/**
 * The allow-list a server fragment passes through before it reaches the page.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Sanitizes a fragment with wp_kses. The server already escapes every caption, but the
 * plugin does not trust any remote HTML: only the tags and attributes a feed needs get
 * through, links and images keep http(s) URLs only, and style attributes keep the
 * --fk-* custom properties the fragment's theme is written in.
 */
final class Flowkick_Fragment {

	/**
	 * The fragment, cleaned for printing.
	 *
	 * @param string $html Fragment from the server.
	 * @return string
	 */
	public static function sanitize( $html ) {
		add_filter( 'safe_style_css', array( __CLASS__, 'allow_custom_properties' ) );
		$clean = wp_kses( $html, self::allowed_html(), array( 'http', 'https' ) );
		remove_filter( 'safe_style_css', array( __CLASS__, 'allow_custom_properties' ) );
		return $clean;
	}

	/**
	 * Keeps CSS custom properties (--fk-accent: …) in style attributes while the
	 * fragment is sanitized; added and removed around that one wp_kses call only.
	 *
	 * @param string[] $properties CSS properties safecss_filter_attr() keeps.
	 * @return string[]
	 */
	public static function allow_custom_properties( $properties ) {
		$properties[] = '--*';
		return $properties;
	}

	/**
	 * Tags a feed is made of, each with the shared attributes plus its own.
	 *
	 * @return array<string, array<string, bool>>
	 */
	private static function allowed_html() {
		$own  = array(
			'a'          => array( 'href', 'rel', 'target', 'hreflang' ),
			'img'        => array( 'src', 'srcset', 'sizes', 'width', 'height', 'loading', 'alt', 'decoding', 'fetchpriority' ),
			'source'     => array( 'src', 'srcset', 'sizes', 'type', 'media', 'width', 'height' ),
			'time'       => array( 'datetime' ),
			'button'     => array( 'type', 'disabled', 'name', 'value' ),
			'ol'         => array( 'start', 'reversed' ),
			'blockquote' => array( 'cite' ),
			'svg'        => array( 'viewbox', 'xmlns', 'width', 'height', 'fill', 'stroke', 'stroke-width', 'focusable', 'preserveaspectratio' ),
			'path'       => array( 'd', 'fill', 'stroke', 'stroke-width', 'stroke-linecap', 'stroke-linejoin', 'fill-rule', 'clip-rule' ),
			'circle'     => array( 'cx', 'cy', 'r', 'fill', 'stroke', 'stroke-width' ),
			'rect'       => array( 'x', 'y', 'width', 'height', 'rx', 'ry', 'fill' ),
			'g'          => array( 'fill', 'stroke' ),
		);
		$tags = array( 'div', 'section', 'article', 'header', 'footer', 'nav', 'ul', 'ol', 'li', 'a', 'img', 'picture', 'source', 'figure', 'figcaption', 'p', 'span', 'strong', 'em', 'b', 'i', 'small', 'br', 'time', 'button', 'h2', 'h3', 'h4', 'blockquote', 'cite', 'svg', 'path', 'circle', 'rect', 'g', 'title' );

		$allowed = array();
		foreach ( $tags as $tag ) {
			$names           = array_merge( self::shared_attributes(), isset( $own[ $tag ] ) ? $own[ $tag ] : array() );
			$allowed[ $tag ] = array_fill_keys( $names, true );
		}
		return $allowed;
	}

	/**
	 * Attributes any tag may carry; wp_kses reads 'data-*' as every data- attribute.
	 *
	 * @return string[]
	 */
	private static function shared_attributes() {
		return array( 'class', 'id', 'style', 'title', 'lang', 'dir', 'role', 'hidden', 'tabindex', 'data-*', 'aria-label', 'aria-labelledby', 'aria-describedby', 'aria-hidden', 'aria-live', 'aria-busy', 'aria-current', 'aria-expanded', 'aria-controls', 'aria-pressed' );
	}
}
