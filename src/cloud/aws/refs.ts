/** EBS volume and snapshot references as ARNs without an account (`arn:aws:ec2:REGION::volume/vol-…`): the region travels with the id. */
const REF = /^arn:aws[a-z-]*:ec2:([a-z]{2}(?:-[a-z]+)+-\d+):\d*:(volume|snapshot)\/((?:vol|snap)-[0-9a-f]+)$/;

export function volumeRef(region: string, volumeId: string): string {
  return `arn:aws:ec2:${region}::volume/${volumeId}`;
}

export function snapshotRef(region: string, snapshotId: string): string {
  return `arn:aws:ec2:${region}::snapshot/${snapshotId}`;
}

export function parseRef(ref: string): { region: string; kind: 'volume' | 'snapshot'; id: string } | undefined {
  const m = REF.exec(ref);
  return m ? { region: m[1]!, kind: m[2] as 'volume' | 'snapshot', id: m[3]! } : undefined;
}
