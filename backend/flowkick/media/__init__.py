"""Media: every picture a feed shows is Flowkick's own stored copy.

Platforms' CDN addresses are unusable on a customer's site: Instagram's and Facebook's
refuse cross-site embedding (`Cross-Origin-Resource-Policy: same-origin`), and their and
TikTok's addresses are signed and expire within hours or days. So after the refresher
stores a feed, the media worker downloads each picture once (`download`), checks and
re-encodes it into a few widths of AVIF and WebP with a placeholder colour (`images`),
keeps the files content-addressed in a store (`store`: a folder served at /media, or
S3-compatible storage), and records which stored image stands for which platform address
(`catalog`). The read path resolves a feed's items against that record (`resolve`), so no
output ever carries a platform's image address: a picture not stored yet is a placeholder.
"""
