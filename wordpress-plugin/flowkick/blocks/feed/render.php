<?php
/**
 * Server-side render of the flowkick/feed block: the same renderer as [flowkick].
 *
 * @package Flowkick
 *
 * @var array $attributes Block attributes.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

$flowkick_html = Flowkick_Renderer::render( $attributes );
if ( '' !== $flowkick_html ) {
	printf(
		'<div %s>%s</div>',
		get_block_wrapper_attributes(), // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped by WordPress.
		$flowkick_html // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped by Flowkick_Renderer (wp_kses, esc_*).
	);
}
