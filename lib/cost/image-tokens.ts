// Image tokens, per provider family: part of prompt token estimation
// (tokens.ts). The gateway does not download images, so a remote image is
// assumed to be DEFAULT_IMAGE_WIDTH x DEFAULT_IMAGE_HEIGHT (1024 x 1024). For
// base64 data URLs the real size is read from the PNG / GIF / JPEG / WebP
// header.
//  - OpenAI (documented tile rule): detail "low" costs the base (85 tokens).
//    "high"/"auto": scale to fit in 2048 x 2048, then down so the shortest side
//    is 768, count 512 px tiles; cost = base + tile * tiles = 85 + 170 * tiles.
//    1024 x 1024 -> 768 x 768 -> 4 tiles -> 765 tokens. gpt-4o-mini uses the
//    same rule with OpenAI's documented base 2833 / tile 5667.
//  - Anthropic (documented): tokens = ceil(width * height / 750), at most 1600
//    (larger images are downscaled by the API). 1024 x 1024 -> ceil(1398.1) = 1399.
//  - Gemini (documented): 258 tokens per image.

export type ImageFamily = 'openai' | 'anthropic' | 'gemini'
export type ImageDetail = 'low' | 'high' | 'auto'

export const DEFAULT_IMAGE_WIDTH = 1024
export const DEFAULT_IMAGE_HEIGHT = 1024
export const ANTHROPIC_PIXELS_PER_TOKEN = 750
export const ANTHROPIC_MAX_IMAGE_TOKENS = 1600
export const GEMINI_IMAGE_TOKENS = 258

const OPENAI_IMAGE_COST = { base: 85, tile: 170 } as const
const OPENAI_MINI_IMAGE_COST = { base: 2833, tile: 5667 } as const


/** OpenAI's tile rule. */
export function openAIImageTokens(width: number, height: number, detail: ImageDetail = 'auto', model = ''): number {
  const cost = /^gpt-4o-mini/i.test(model) ? OPENAI_MINI_IMAGE_COST : OPENAI_IMAGE_COST
  if (detail === 'low') return cost.base
  let w = width
  let h = height
  if (!(w > 0 && h > 0)) {
    w = DEFAULT_IMAGE_WIDTH
    h = DEFAULT_IMAGE_HEIGHT
  }
  if (w > 2048 || h > 2048) {
    const s = 2048 / Math.max(w, h)
    w = Math.round(w * s)
    h = Math.round(h * s)
  }
  if (Math.min(w, h) > 768) {
    const s = 768 / Math.min(w, h)
    w = Math.round(w * s)
    h = Math.round(h * s)
  }
  return cost.base + cost.tile * Math.ceil(w / 512) * Math.ceil(h / 512)
}

/** Anthropic: ceil(w * h / 750), capped at 1600. */
export function anthropicImageTokens(width: number, height: number): number {
  const px = width > 0 && height > 0 ? width * height : DEFAULT_IMAGE_WIDTH * DEFAULT_IMAGE_HEIGHT
  return Math.min(ANTHROPIC_MAX_IMAGE_TOKENS, Math.ceil(px / ANTHROPIC_PIXELS_PER_TOKEN))
}

// Enough of the base64 payload to reach a JPEG frame header behind typical
// EXIF / ICC segments; a multiple of 4 so it decodes cleanly.
const SNIFF_BASE64_CHARS = 96 * 1024

/** Width and height from a base64 data URL's image header, when recognisable. */
export function dataUrlImageSize(url: string): { width: number; height: number } | undefined {
  if (!url.startsWith('data:')) return undefined
  const comma = url.indexOf(',')
  if (comma < 0 || !url.slice(0, comma).toLowerCase().endsWith(';base64')) return undefined
  const b = Buffer.from(url.slice(comma + 1, comma + 1 + SNIFF_BASE64_CHARS), 'base64')
  return imageSize(b)
}

function imageSize(b: Buffer): { width: number; height: number } | undefined {
  // PNG: signature, then the IHDR chunk's width/height.
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR')
    return ok(b.readUInt32BE(16), b.readUInt32BE(20))
  // GIF: logical screen size, little-endian.
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return ok(b.readUInt16LE(6), b.readUInt16LE(8))
  // WebP: RIFF....WEBP then a VP8 / VP8L / VP8X chunk.
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16)
    if (chunk === 'VP8 ') return ok(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff)
    if (chunk === 'VP8L') {
      const bits = b.readUInt32LE(21)
      return ok((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1)
    }
    if (chunk === 'VP8X') return ok(b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1)
    return undefined
  }
  // JPEG: walk the segments up to a start-of-frame marker.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2
    while (i + 3 < b.length) {
      if (b[i] !== 0xff) return undefined
      const marker = b[i + 1]!
      if (marker === 0xff) { i++; continue } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (i + 9 > b.length) return undefined
        return ok(b.readUInt16BE(i + 7), b.readUInt16BE(i + 5))
      }
      if (marker === 0xd9 || marker === 0xda) return undefined // end of image / scan data before any frame
      i += 2 + b.readUInt16BE(i + 2)
    }
  }
  return undefined
}

function ok(width: number, height: number): { width: number; height: number } | undefined {
  return width > 0 && height > 0 ? { width, height } : undefined
}

/** The tokens of one image_url content part. */
export function imagePartTokens(family: ImageFamily, model: string, imageUrl: unknown): number {
  if (family === 'gemini') return GEMINI_IMAGE_TOKENS
  const obj = typeof imageUrl === 'object' && imageUrl !== null ? (imageUrl as { url?: unknown; detail?: unknown }) : undefined
  const url = typeof imageUrl === 'string' ? imageUrl : typeof obj?.url === 'string' ? obj.url : ''
  const detail: ImageDetail = obj?.detail === 'low' || obj?.detail === 'high' ? obj.detail : 'auto'
  if (family === 'openai' && detail === 'low') return openAIImageTokens(0, 0, 'low', model)
  const size = dataUrlImageSize(url) ?? { width: DEFAULT_IMAGE_WIDTH, height: DEFAULT_IMAGE_HEIGHT }
  return family === 'anthropic'
    ? anthropicImageTokens(size.width, size.height)
    : openAIImageTokens(size.width, size.height, detail, model)
}
