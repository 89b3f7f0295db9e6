/**
 * Editor side of the flowkick/feed block. Plain ES5 on WordPress's own globals, so the
 * plugin needs no build step. The preview is rendered by the server (render.php), so
 * what the editor shows is what visitors get.
 */
( function ( blocks, element, blockEditor, components, ServerSideRender, i18n ) {
	'use strict';

	var el = element.createElement;
	var __ = i18n.__;

	var PLATFORMS = [
		{ label: 'Instagram', value: 'instagram' },
		{ label: 'TikTok', value: 'tiktok' },
		{ label: 'Google reviews', value: 'google_reviews' },
		{ label: 'X', value: 'twitter' },
		{ label: 'YouTube', value: 'youtube' },
		{ label: 'Facebook', value: 'facebook' }
	];

	var CHOICES = {
		layout: [ '', 'grid', 'carousel', 'list', 'cards', 'badge' ],
		theme: [ '', 'light', 'dark', 'auto' ]
	};

	function options( values ) {
		return values.map( function ( value ) {
			return { label: value || __( 'Server default', 'flowkick' ), value: value };
		} );
	}

	function setter( props, name ) {
		return function ( value ) {
			var change = {};
			change[ name ] = value;
			props.setAttributes( change );
		};
	}

	function controls( props ) {
		var a = props.attributes;
		return el(
			components.PanelBody,
			{ title: __( 'Feed', 'flowkick' ) },
			el( components.SelectControl, { label: __( 'Platform', 'flowkick' ), value: a.platform, options: PLATFORMS, onChange: setter( props, 'platform' ) } ),
			el( components.TextControl, { label: __( 'Handle', 'flowkick' ), help: __( 'Only needed when your key tracks several accounts on this platform.', 'flowkick' ), value: a.handle, onChange: setter( props, 'handle' ) } ),
			el( components.SelectControl, { label: __( 'Layout', 'flowkick' ), value: a.layout, options: options( CHOICES.layout ), onChange: setter( props, 'layout' ) } ),
			el( components.SelectControl, { label: __( 'Theme', 'flowkick' ), value: a.theme, options: options( CHOICES.theme ), onChange: setter( props, 'theme' ) } ),
			el( components.RangeControl, { label: __( 'Items', 'flowkick' ), help: __( '0 uses the server default.', 'flowkick' ), min: 0, max: 50, value: a.limit, onChange: setter( props, 'limit' ) } ),
			el( components.TextControl, { label: __( 'Language', 'flowkick' ), help: __( 'A language code such as es; empty uses the server default.', 'flowkick' ), value: a.lang, onChange: setter( props, 'lang' ) } ),
			el( components.TextControl, { label: __( 'Key', 'flowkick' ), help: __( 'Leave empty to use the default key from Settings → Flowkick.', 'flowkick' ), value: a.key, onChange: setter( props, 'key' ) } )
		);
	}

	blocks.registerBlockType( 'flowkick/feed', {
		edit: function ( props ) {
			return el(
				'div',
				blockEditor.useBlockProps(),
				el( blockEditor.InspectorControls, null, controls( props ) ),
				el( ServerSideRender, { block: 'flowkick/feed', attributes: props.attributes } )
			);
		},
		save: function () {
			return null;
		}
	} );
}( window.wp.blocks, window.wp.element, window.wp.blockEditor, window.wp.components, window.wp.serverSideRender, window.wp.i18n ) );
