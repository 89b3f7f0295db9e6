<?php
/**
 * Fetches feed fragments from the Flowkick server and keeps them in transients.
 *
 * @package Flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Asks the server for a fragment at most once per cache period and remembers the last
 * good answer, so an unreachable or failing server never empties a page that once
 * showed a feed.
 *
 * The key travels in the Authorization header, never in the URL: Flowkick refuses a
 * secret key in a query string, since proxies and server logs keep URLs.
 *
 * Two transients per feed (the id hashes the server URL, every query parameter and the key):
 * flowkick_feed_{id} is the answer to serve now and expires after the cache minutes
 * (one minute after a failure, so a down server costs one slow request a minute, not
 * one per page view); flowkick_good_{id} is the last 200 answer, kept for a month.
 */
final class Flowkick_Fetcher {

	const TIMEOUT_SECONDS = 3;
	const RETRY_SECONDS   = 60;

	/**
	 * The feed to show: array( 'html' => fragment or '', 'error' => code or '' ).
	 *
	 * 'html' is the newest fragment the server answered with 200 ('' if it never did);
	 * 'error' is the stable code of the last failure ('' when the last request worked):
	 * the server's data-error code, 'unreachable', 'pending' or 'http_<status>'.
	 *
	 * @param string $server   Server base URL, no trailing slash.
	 * @param string $platform Platform id.
	 * @param string $key      The client's key (sent as Authorization: Bearer).
	 * @param array  $query    Display options.
	 * @return array{html: string, error: string}
	 */
	public static function get( $server, $platform, $key, array $query ) {
		$url   = self::url( $server, $platform, $query );
		$id    = md5( $url . "\n" . $key );
		$entry = get_transient( 'flowkick_feed_' . $id );
		if ( is_array( $entry ) && isset( $entry['html'], $entry['error'] ) ) {
			return $entry;
		}
		return self::refresh( $id, $url, $key );
	}

	/**
	 * The fragment URL; css=none because the stylesheet is enqueued separately.
	 *
	 * @param string $server   Server base URL.
	 * @param string $platform Platform id.
	 * @param array  $query    Query parameters.
	 * @return string
	 */
	private static function url( $server, $platform, array $query ) {
		$query['css'] = 'none';
		ksort( $query );
		return add_query_arg( rawurlencode_deep( $query ), $server . '/embed/' . rawurlencode( $platform ) );
	}

	/**
	 * Asks the server and stores what to serve until the next attempt.
	 *
	 * @param string $id  Cache id.
	 * @param string $url Fragment URL.
	 * @param string $key The client's key.
	 * @return array{html: string, error: string}
	 */
	private static function refresh( $id, $url, $key ) {
		$answer = self::fetch( $url, $key );
		if ( '' === $answer['error'] ) {
			set_transient( 'flowkick_good_' . $id, $answer['html'], MONTH_IN_SECONDS );
			set_transient( 'flowkick_feed_' . $id, $answer, Flowkick_Options::cache_minutes() * MINUTE_IN_SECONDS );
			return $answer;
		}
		$good  = get_transient( 'flowkick_good_' . $id );
		$entry = array(
			'html'  => is_string( $good ) ? $good : '',
			'error' => $answer['error'],
		);
		set_transient( 'flowkick_feed_' . $id, $entry, self::RETRY_SECONDS );
		return $entry;
	}

	/**
	 * One request to the server. wp_remote_get, not wp_safe_remote_get: a self-hosted
	 * Flowkick server may well live on the same host or a private network. No redirects
	 * are followed, so the key never travels on to another address.
	 *
	 * @param string $url Fragment URL.
	 * @param string $key The client's key.
	 * @return array{html: string, error: string}
	 */
	private static function fetch( $url, $key ) {
		$response = wp_remote_get(
			$url,
			array(
				'timeout'     => self::TIMEOUT_SECONDS,
				'redirection' => 0,
				'headers'     => array(
					'Accept'        => 'text/html',
					'Authorization' => 'Bearer ' . $key,
				),
				'user-agent'  => 'Flowkick-WordPress/' . FLOWKICK_VERSION . '; ' . home_url( '/' ),
			)
		);
		if ( is_wp_error( $response ) ) {
			return array(
				'html'  => '',
				'error' => 'unreachable',
			);
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$body   = (string) wp_remote_retrieve_body( $response );
		return array(
			'html'  => 200 === $status ? $body : '',
			'error' => 200 === $status ? '' : self::error_code( $status, $body ),
		);
	}

	/**
	 * The stable code of a failed answer: the error fragment's data-error (or
	 * data-error-code) attribute when it has one, else a code made from the status.
	 *
	 * @param int    $status HTTP status.
	 * @param string $body   Response body.
	 * @return string
	 */
	private static function error_code( $status, $body ) {
		if ( preg_match( '/data-error(?:-code)?="([a-z0-9_]{1,64})"/', $body, $match ) ) {
			return $match[1];
		}
		return 202 === $status ? 'pending' : 'http_' . $status;
	}
}
