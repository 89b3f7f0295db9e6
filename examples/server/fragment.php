<?php
/**
 * Print a Flowkick feed fragment from a PHP site (outside WordPress; there, use the plugin).
 *
 *     FLOWKICK_URL=https://feeds.example.com FLOWKICK_SECRET_KEY=sk_... php fragment.php instagram
 *
 * The secret key goes in the Authorization header, never in the URL: Flowkick answers a
 * secret key in a query string with 400, because proxies and server logs keep URLs.
 */

function flowkick_fragment( string $base_url, string $secret_key, string $platform, array $options = array() ): string {
	$query   = http_build_query( array( 'css' => 'none' ) + $options );
	$url     = rtrim( $base_url, '/' ) . '/embed/' . rawurlencode( $platform ) . '?' . $query;
	$context = stream_context_create(
		array(
			'http' => array(
				'header'          => "Authorization: Bearer {$secret_key}\r\nAccept: text/html\r\n",
				'timeout'         => 5,
				'follow_location' => 0,
				'ignore_errors'   => true,
			),
		)
	);
	$html = file_get_contents( $url, false, $context );
	return false === $html ? '' : $html;
}

echo flowkick_fragment( getenv( 'FLOWKICK_URL' ), getenv( 'FLOWKICK_SECRET_KEY' ), $argv[1] ?? 'instagram', array( 'limit' => '6' ) ), "\n";
