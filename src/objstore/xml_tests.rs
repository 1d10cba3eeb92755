//! Unit tests of `xml.rs`: answers in the shapes S3 documents (and Ceph RGW sends) read, bodies write.

use super::*;

#[test]
fn a_versions_listing_reads_interleaved_versions_and_delete_markers() {
    // The shape of the ListObjectVersions example in the S3 API reference (trimmed).
    let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix/><KeyMarker/><VersionIdMarker/><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated><NextKeyMarker>b</NextKeyMarker><NextVersionIdMarker>v4</NextVersionIdMarker>
  <Version><Key>a</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><Size>3</Size></Version>
  <DeleteMarker><Key>a&amp;b</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest></DeleteMarker>
  <Version><Key>a&amp;b</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest></Version>
  <Version><Key>b</Key><VersionId>null</VersionId><IsLatest>true</IsLatest></Version>
</ListVersionsResult>"#;
    let r: ListVersionsResult = from_xml(text).unwrap();
    assert!(r.is_truncated);
    assert_eq!(r.next_key_marker.as_deref(), Some("b"));
    assert_eq!(r.next_version_id_marker.as_deref(), Some("v4"));
    let keys: Vec<(&str, Option<&str>)> = r
        .versions
        .iter()
        .map(|v| (v.key.as_str(), v.version_id.as_deref()))
        .collect();
    assert_eq!(keys, [("a", Some("v1")), ("a&b", Some("v3")), ("b", Some("null"))]);
    assert_eq!(r.delete_markers.len(), 1);
    assert_eq!(r.delete_markers[0].key, "a&b");
}

#[test]
fn a_listing_and_an_empty_listing_read() {
    let text = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
      <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
      <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
      <Contents><Key>x/1</Key><Size>10</Size><ETag>"e"</ETag></Contents>
      <Contents><Key>.lkeobs-owner</Key><Size>4</Size></Contents></ListBucketResult>"#;
    let r: ListBucketResult = from_xml(text).unwrap();
    assert!(r.is_truncated);
    assert_eq!(r.contents.len(), 2);
    assert_eq!(r.contents[1].key, ".lkeobs-owner");
    assert!(r.next_continuation_token.unwrap().ends_with('='));
    let empty: ListBucketResult =
        from_xml("<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>")
            .unwrap();
    assert!(empty.contents.is_empty() && !empty.is_truncated);
}

#[test]
fn delete_bodies_escape_keys_and_answers_list_failures() {
    let objects = [
        ObjectId {
            key: "a<b>&c".into(),
            version_id: None,
        },
        ObjectId {
            key: "d".into(),
            version_id: Some("v1".into()),
        },
    ];
    let body = to_xml(&DeleteRequest::quiet(&objects)).unwrap();
    assert!(body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>"#), "{body}");
    assert!(body.contains("<Object><Key>a&lt;b&gt;&amp;c</Key></Object>"), "{body}");
    assert!(
        body.contains("<Object><Key>d</Key><VersionId>v1</VersionId></Object>"),
        "{body}"
    );
    let answer = r#"<DeleteResult><Deleted><Key>d</Key></Deleted><Error><Key>x</Key><Code>AccessDenied</Code>
      <Message>Access Denied</Message></Error></DeleteResult>"#;
    let r: DeleteResult = from_xml(answer).unwrap();
    assert_eq!(r.errors[0].code, "AccessDenied");
}

#[test]
fn the_lifecycle_rule_round_trips_and_is_recognised() {
    let rule = LifecycleConfiguration::expire_everything_after_a_day();
    let body = to_xml(&rule).unwrap();
    for part in [
        "<Expiration><Days>1</Days></Expiration>",
        "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>",
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
        "<Status>Enabled</Status>",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    let back: LifecycleConfiguration = from_xml(&body).unwrap();
    assert_eq!(back.rules, rule.rules);
    assert!(back.expires_everything_within_a_day());
    let mut weaker = back.clone();
    weaker.rules[0].noncurrent_version_expiration = None;
    assert!(!weaker.expires_everything_within_a_day());
    let mut prefixed = back;
    prefixed.rules[0].filter.prefix = "logs/".into();
    assert!(!prefixed.expires_everything_within_a_day());
}

#[test]
fn versioning_and_errors_read_whatever_the_root_is_called() {
    let v: VersioningXml =
        from_xml(r#"<VersioningConfiguration xmlns="x"><Status>Suspended</Status></VersioningConfiguration>"#).unwrap();
    assert_eq!(v.status.as_deref(), Some("Suspended"));
    let v: VersioningXml = from_xml(r#"<GetBucketVersioningResponse xmlns="x"/>"#).unwrap();
    assert_eq!(v.status, None);
    let e: ErrorBody = from_xml(
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>tx0-default</RequestId></Error>",
    )
    .unwrap();
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));
}
