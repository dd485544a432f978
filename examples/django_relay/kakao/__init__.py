"""A minimal Kakao API client, as the seed-000 service has one."""
