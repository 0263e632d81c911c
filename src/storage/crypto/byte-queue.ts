/**
 * Stream pieces held back until a whole chunk is there, handed out as the pieces themselves
 * (sub-arrays, no copy): the cipher takes a chunk piece by piece.
 */
export class ByteQueue {
  #pieces: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** Puts bytes back at the front (after a look at the first ones). */
  unshift(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#pieces.unshift(piece);
    this.#length += piece.length;
  }

  /** The first `size` bytes (at most all there are), removed from the queue. */
  take(size: number): Buffer[] {
    const out: Buffer[] = [];
    let wanted = Math.min(size, this.#length);
    this.#length -= wanted;
    while (wanted > 0) {
      const piece = this.#pieces[0];
      if (piece.length <= wanted) {
        out.push(piece);
        this.#pieces.shift();
        wanted -= piece.length;
      } else {
        out.push(piece.subarray(0, wanted));
        this.#pieces[0] = piece.subarray(wanted);
        wanted = 0;
      }
    }
    return out;
  }
}
