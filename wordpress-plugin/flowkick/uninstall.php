<?php
/**
 * Removes everything the plugin stored: its three options and its cached feeds.
 *
 * @package Flowkick
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'flowkick_server_url' );
delete_option( 'flowkick_default_key' );
delete_option( 'flowkick_cache_minutes' );

global $wpdb;
$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery -- transients have no delete-by-prefix API.
	$wpdb->prepare(
		"DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s",
		$wpdb->esc_like( '_transient_flowkick_' ) . '%',
		$wpdb->esc_like( '_transient_timeout_flowkick_' ) . '%'
	)
);
