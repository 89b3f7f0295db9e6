<?php
/**
 * Flowkick for WordPress: a business's own social posts and reviews, rendered on the server.
 *
 * The feed comes from the site owner's Flowkick server as an HTML fragment, is cached in a
 * transient and printed into the page, so visitors and search engines get it without
 * JavaScript and the page keeps working when the Flowkick server does not.
 *
 * @package Flowkick
 *
 * @wordpress-plugin
 * Plugin Name:       Flowkick
 * Description:       Shows your Instagram, TikTok, Google reviews, X, YouTube and Facebook posts from your Flowkick server with a shortcode or a block. The feed is part of the page's HTML: no JavaScript needed.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            Flowkick
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       flowkick
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'FLOWKICK_VERSION', '0.1.0' );
define( 'FLOWKICK_FILE', __FILE__ );
define( 'FLOWKICK_DIR', plugin_dir_path( __FILE__ ) );

require_once FLOWKICK_DIR . 'includes/class-flowkick-options.php';
require_once FLOWKICK_DIR . 'includes/class-flowkick-fetcher.php';
require_once FLOWKICK_DIR . 'includes/class-flowkick-fragment.php';
require_once FLOWKICK_DIR . 'includes/class-flowkick-renderer.php';
require_once FLOWKICK_DIR . 'includes/class-flowkick.php';
require_once FLOWKICK_DIR . 'admin/class-flowkick-settings.php';

register_activation_hook( __FILE__, array( 'Flowkick_Options', 'add_defaults' ) );

Flowkick::run();
