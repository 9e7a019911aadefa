// The ingest function written with sharp, as a skilled Node.js user writes it for Lambda: the
// same job as Pictor's default spec, against the same bucket, queue batch and table.
//
// For each S3 notification in the SQS batch: read the original, auto-orient, make xl 2048,
// lg 1024 and md 512 (fit inside, never enlarged) and a 256x256 thumb (cover, cropped around
// sharp's attention point), each as JPEG q82 and WebP q80 (effort 4); watermark the ones 320 px
// wide or more (the logo at 20% of the width, 50% opacity, bottom right); write them under
// content-addressed keys with an immutable Cache-Control; then write the asset's record.
// Failed messages are returned in batchItemFailures, as with Pictor's function.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import sharp from "sharp";

// Clients are made once per process, outside the handler, so warm invocations reuse them.
const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
const dynamodb = new DynamoDBClient({});
const OUTPUT_BUCKET = process.env.PICTOR_OUTPUT_BUCKET;
const TABLE = process.env.PICTOR_TABLE;
const LOGO = readFileSync(process.env.WATERMARK_FILE);

const SIZES = [
  { name: "xl", width: 2048 },
  { name: "lg", width: 1024 },
  { name: "md", width: 512 },
  { name: "thumb", width: 256, height: 256 },
];
const FORMATS = [
  { format: "jpeg", ext: "jpg", options: { quality: 82 } },
  { format: "webp", ext: "webp", options: { quality: 80, effort: 4 } },
];
const WATERMARK_MIN_WIDTH = 320;

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const message of event.Records) {
    try {
      const notification = JSON.parse(message.body);
      for (const record of notification.Records ?? []) {
        const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
        await ingest(record.s3.bucket.name, key);
      }
    } catch (error) {
      console.error(message.messageId, error);
      batchItemFailures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures };
};

async function ingest(bucket, key) {
  const source = `s3://${bucket}/${key}`;
  const id = createHash("sha256").update(source).digest("hex").slice(0, 32);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const input = Buffer.from(await object.Body.transformToByteArray());
  const meta = await sharp(input).metadata();
  const upright = (meta.orientation ?? 1) >= 5;
  const [width, height] = upright ? [meta.height, meta.width] : [meta.width, meta.height];

  const renditions = await Promise.all(
    SIZES.flatMap((size) => FORMATS.map((format) => render(input, width, height, size, format))),
  );
  const stored = await Promise.all(
    renditions.map(async ({ name, format, ext, data, info }) => {
      const digest = createHash("sha256").update(data).digest("hex").slice(0, 12);
      const outputKey = `renditions/${id}/${name}-${digest}.${ext}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: OUTPUT_BUCKET,
          Key: outputKey,
          Body: data,
          ContentType: `image/${format}`,
          CacheControl: "public, max-age=31536000, immutable",
        }),
      );
      return { name, format, width: info.width, height: info.height, bytes: data.length, key: outputKey };
    }),
  );
  const record = {
    source,
    status: "READY",
    width,
    height,
    sha256: createHash("sha256").update(input).digest("hex"),
    source_bytes: input.length,
    variants: stored,
    updated_at: new Date().toISOString(),
  };
  await dynamodb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        id: { S: id },
        record: { S: JSON.stringify(record) },
        asset_status: { S: "READY" },
      },
    }),
  );
}

async function render(input, width, height, size, { format, ext, options }) {
  let image = sharp(input).rotate();
  let outWidth;
  let outHeight;
  if (size.height) {
    image = image.resize(size.width, size.height, { fit: "cover", position: sharp.strategy.attention });
    [outWidth, outHeight] = [size.width, size.height];
  } else {
    outWidth = Math.min(size.width, width);
    outHeight = Math.max(1, Math.round((height * outWidth) / width));
    image = image.resize(outWidth, outHeight, { kernel: "lanczos3" });
  }
  if (outWidth >= WATERMARK_MIN_WIDTH) {
    image = image.composite([{ input: await watermark(outWidth), gravity: "southeast" }]);
  }
  if (format === "jpeg") image = image.flatten({ background: "#ffffff" });
  const { data, info } = await image
    .toFormat(format, options)
    .toBuffer({ resolveWithObject: true });
  return { name: size.name, format, ext, data, info };
}

// The logo at 20% of the rendition's width and half opacity, made once per width.
const marks = new Map();
function watermark(width) {
  const logoWidth = Math.max(1, Math.round(width * 0.2));
  if (!marks.has(logoWidth)) {
    marks.set(
      logoWidth,
      sharp(LOGO)
        .resize(logoWidth)
        .composite([{ input: Buffer.from([255, 255, 255, 128]), raw: { width: 1, height: 1, channels: 4 }, tile: true, blend: "dest-in" }])
        .png()
        .toBuffer(),
    );
  }
  return marks.get(logoWidth);
}
